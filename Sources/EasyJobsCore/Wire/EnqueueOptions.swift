#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How one enqueue is to be run, beside its arguments: when, in what order, until when, and
/// whether a repeat of it makes a new job.
///
/// A single enqueue takes them as query parameters (`POST /ETL/task/extract?delay=60&priority=5`)
/// and the key as the `Idempotency-Key` header; each job of a batch as fields beside `task` and
/// `arguments`. Times are ISO 8601 in UTC (`2026-12-03T10:00:00Z`) or seconds since 1970;
/// durations are seconds.
///
/// ```swift
/// var options = EnqueueOptions()
/// options.delay = 30
/// options.priority = 10
/// options.idempotencyKey = "order-4711"
/// let id = try await client.enqueue(queue: "ETL", task: "extract", arguments: [:], options: options)
/// ```
public struct EnqueueOptions: Sendable, Hashable, Codable {
    /// Not before this time: the job waits as `scheduled` until then.
    public var runAt: Date?
    /// Not before this many seconds from now (instead of `runAt`).
    public var delay: Double?
    /// Higher runs first among the queue's ready jobs; equal priorities run oldest first.
    /// Between ``priorityRange``'s bounds; 0 when not given.
    public var priority: Int?
    /// Ends `expired` if not started by this time.
    public var expiresAt: Date?
    /// Ends `expired` if not started within this many seconds (instead of `expiresAt`).
    public var expiresIn: Double?
    /// An enqueue with a key the queue has seen answers the job it made, which is not made again
    /// (kept as long as that job is).
    public var idempotencyKey: String?
    /// An enqueue of the same task with the same arguments within this many seconds of one that
    /// did not fail, get cancelled or expire answers that job instead of making a new one.
    public var uniqueFor: Double?
    /// A URL the manager POSTs the job's outcome to when it ends, signed, with retries.
    public var webhook: String?

    public init(
        runAt: Date? = nil, delay: Double? = nil, priority: Int? = nil, expiresAt: Date? = nil, expiresIn: Double? = nil,
        idempotencyKey: String? = nil, uniqueFor: Double? = nil, webhook: String? = nil
    ) {
        self.webhook = webhook
        self.runAt = runAt
        self.delay = delay
        self.priority = priority
        self.expiresAt = expiresAt
        self.expiresIn = expiresIn
        self.idempotencyKey = idempotencyKey
        self.uniqueFor = uniqueFor
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case runAt = "run_at", delay, priority, expiresAt = "expires_at", expiresIn = "expires_in"
        case idempotencyKey = "idempotency_key", uniqueFor = "unique_for", webhook
    }

    /// The names the options take on the wire (query parameters, batch fields).
    public static let names: Set<String> = Set(CodingKeys.allCases.map(\.rawValue))

    /// The header that carries ``idempotencyKey`` of a single enqueue.
    public static let idempotencyHeader = "Idempotency-Key"

    public static let priorityRange = -1_000...1_000
    /// Longest webhook URL taken.
    public static let maxURLLength = 2_048
    /// Longest key kept.
    public static let maxKeyLength = 255
    /// Furthest ahead a job may be scheduled or given a deadline: ten years.
    public static let maxHorizon: Double = 10 * 365 * 86_400

    /// Whether no option is set.
    public var isEmpty: Bool { self == EnqueueOptions() }

    /// The options as query parameters or batch fields, in wire names.
    public var fields: [String: String] {
        var fields: [String: String] = [:]
        fields["run_at"] = runAt.map(WireCoding.format)
        fields["delay"] = delay.map { "\($0)" }
        fields["priority"] = priority.map { "\($0)" }
        fields["expires_at"] = expiresAt.map(WireCoding.format)
        fields["expires_in"] = expiresIn.map { "\($0)" }
        fields["idempotency_key"] = idempotencyKey
        fields["unique_for"] = uniqueFor.map { "\($0)" }
        fields["webhook"] = webhook
        return fields
    }

    /// Reads the options from query parameters or batch fields (as text; JSON numbers are given
    /// as their text). Names not among ``names`` are not looked at.
    public init(fields: [String: String]) throws(EasyJobsError) {
        func seconds(_ name: String, positive: Bool) throws(EasyJobsError) -> Double? {
            guard let text = fields[name] else { return nil }
            guard let value = Double(text), value.isFinite, positive ? value > 0 : value >= 0, value <= Self.maxHorizon else {
                throw EasyJobsError(
                    .malformedRequest,
                    "\(name) must be a number of seconds \(positive ? "above" : "from") 0 up to \(Int(Self.maxHorizon)) (ten years), got '\(text)'",
                    context: ["option": name])
            }
            return value
        }
        func time(_ name: String) throws(EasyJobsError) -> Date? {
            guard let text = fields[name] else { return nil }
            if let date = WireCoding.parse(text) { return date }
            if let value = Double(text), value.isFinite, value >= 0, value < 253_402_300_800 { return Date(timeIntervalSince1970: value) }
            throw EasyJobsError(
                .malformedRequest, "\(name) must be an ISO 8601 time in UTC (2026-12-03T10:00:00Z) or seconds since 1970, got '\(text)'",
                context: ["option": name])
        }
        runAt = try time("run_at")
        delay = try seconds("delay", positive: false)
        expiresAt = try time("expires_at")
        expiresIn = try seconds("expires_in", positive: true)
        uniqueFor = try seconds("unique_for", positive: true)
        if let text = fields["priority"] {
            guard let value = Int(text), Self.priorityRange.contains(value) else {
                throw EasyJobsError(
                    .malformedRequest,
                    "priority must be a whole number from \(Self.priorityRange.lowerBound) to \(Self.priorityRange.upperBound), got '\(text)'",
                    context: ["option": "priority"])
            }
            priority = value
        }
        if let key = fields["idempotency_key"] {
            guard !key.isEmpty, key.utf8.count <= Self.maxKeyLength else {
                throw EasyJobsError(
                    .malformedRequest, "an idempotency key must be 1 to \(Self.maxKeyLength) bytes, got \(key.utf8.count)",
                    context: ["option": "idempotency_key"])
            }
            idempotencyKey = key
        }
        if let url = fields["webhook"] {
            let parsed = URLComponents(string: url)
            guard url.utf8.count <= Self.maxURLLength, let parsed, ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                !(parsed.host ?? "").isEmpty
            else {
                throw EasyJobsError(
                    .malformedRequest, "webhook must be an http or https URL of at most \(Self.maxURLLength) bytes, got '\(url.prefix(100))'",
                    context: ["option": "webhook"])
            }
            webhook = url
        }
        if runAt != nil && delay != nil {
            throw EasyJobsError(.malformedRequest, "give run_at or delay, not both", context: ["option": "delay"])
        }
        if expiresAt != nil && expiresIn != nil {
            throw EasyJobsError(.malformedRequest, "give expires_at or expires_in, not both", context: ["option": "expires_in"])
        }
        if idempotencyKey != nil && uniqueFor != nil {
            throw EasyJobsError(
                .malformedRequest, "give an idempotency key or unique_for, not both: each decides alone what a repeat is",
                context: ["option": "unique_for"])
        }
    }

    /// The options of a batch job: its fields other than `task` and `arguments`, numbers and
    /// strings as their text.
    public init(json fields: [String: JSONValue]) throws(EasyJobsError) {
        var text: [String: String] = [:]
        for (name, value) in fields where Self.names.contains(name) {
            switch value {
            case .string(let string): text[name] = string
            case .int(let number): text[name] = "\(number)"
            case .double(let number): text[name] = "\(number)"
            case .null: continue
            default:
                throw EasyJobsError(
                    .malformedRequest, "\(name) must be a number or a string, got \(value.typeName)", context: ["option": name])
            }
        }
        try self.init(fields: text)
    }

    /// When the job may first run and when it expires, from `now`. A deadline before the job
    /// may run is refused: it could only expire.
    public func times(now: Date) throws(EasyJobsError) -> (runAt: Date?, expiresAt: Date?) {
        let runAt = runAt ?? delay.map { now.addingTimeInterval($0) }
        let expiresAt = expiresAt ?? expiresIn.map { now.addingTimeInterval($0) }
        if let expiresAt, expiresAt <= max(runAt ?? now, now) {
            throw EasyJobsError(
                .malformedRequest,
                "the job expires at \(WireCoding.format(expiresAt)), before it may run (\(WireCoding.format(max(runAt ?? now, now)))): it could only expire",
                context: ["option": self.expiresAt != nil ? "expires_at" : "expires_in"])
        }
        return (runAt, expiresAt)
    }
}
