/// The wait between attempts at something that keeps failing (a manager that is away, a
/// child that keeps dying): doubling from `initial` up to `maximum`, back to `initial` after a
/// success. One type for every retry loop, so they all back off alike.
///
/// ```swift
/// var backoff = Backoff(initial: .milliseconds(50), maximum: .seconds(5))
/// while true {
///     do { try await send(); backoff.reset() }
///     catch { try await Task.sleep(for: backoff.next()) }
/// }
/// ```
public struct Backoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    /// The wait `next()` returns now.
    public private(set) var current: Duration

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(maximum, initial)
        self.current = initial
    }

    /// The wait before the next attempt; the one after it is twice as long, up to `maximum`.
    public mutating func next() -> Duration {
        defer { current = min(current * 2, maximum) }
        return current
    }

    /// After a success: the next failure waits `initial` again.
    public mutating func reset() {
        current = initial
    }
}

extension Duration {
    /// Seconds, as the logs and messages write them: `0.05`, `2`.
    public var secondsText: String { inSeconds.formatted }
}
