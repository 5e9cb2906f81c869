/// A queue a host serves and its share of the host's claims.
///
/// A host serving `critical` with weight 3 and `default` with weight 1 takes about three jobs of
/// `critical` for each of `default` while both have work, and all of its claims from whichever
/// alone has work: a weight shares slots, it never leaves one idle.
///
/// ```swift
/// let queues = try ["critical:3", "default"].map(QueueWeight.init(parsing:))
/// // [critical ×3, default ×1]
/// ```
public struct QueueWeight: Codable, Sendable, Hashable {
    public var name: String
    /// 1 to ``maximumWeight``; default 1.
    public var weight: Int

    /// Weights above this would let one queue take every claim of a host for long stretches.
    public static let maximumWeight = 1_000

    public init(name: String, weight: Int = 1) {
        self.name = name
        self.weight = weight
    }

    /// Reads `name` or `name:weight`, as the host's `--queue` flag takes it.
    public init(parsing text: String) throws(EasyJobsError) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard !name.isEmpty else {
            throw EasyJobsError(.invalidConfiguration, "a queue needs a name, as NAME or NAME:WEIGHT, got '\(text)'")
        }
        guard parts.count == 2 else {
            self.init(name: name)
            return
        }
        guard let weight = Int(parts[1]), (1...Self.maximumWeight).contains(weight) else {
            throw EasyJobsError(
                .invalidConfiguration, "the weight of queue '\(name)' must be a whole number from 1 to \(Self.maximumWeight), got '\(parts[1])'",
                context: ["queue": name])
        }
        self.init(name: name, weight: weight)
    }
}

extension QueueWeight: CustomStringConvertible {
    public var description: String { weight == 1 ? name : "\(name):\(weight)" }
}
