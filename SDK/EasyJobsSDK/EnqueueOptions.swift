#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How a job that a task enqueues (``TaskContext/enqueue(_:_:options:)``) is to run: when, in
/// what order, until when, and whether a repeat makes a new job. The manager checks the values
/// and refuses bad ones with an error naming the option.
///
/// ```swift
/// try await context.enqueue("report", ["day": "2026-12-03"], options: EnqueueOptions(runAt: tomorrow, priority: 5))
/// ```
public struct EnqueueOptions: Sendable, Hashable {
    /// Not before this time; the job waits as `scheduled`.
    public var runAt: Date?
    /// Not before this many seconds from now (instead of `runAt`).
    public var delay: Double?
    /// Higher runs first among the queue's ready jobs (-1000 to 1000; 0 when not given).
    public var priority: Int?
    /// Ends `expired` if not started by this time.
    public var expiresAt: Date?
    /// Ends `expired` if not started within this many seconds.
    public var expiresIn: Double?
    /// An enqueue with a key the queue has seen answers the job it made instead of making another.
    public var idempotencyKey: String?
    /// An enqueue of the same task and arguments within this many seconds answers the earlier job.
    public var uniqueFor: Double?

    public init(
        runAt: Date? = nil, delay: Double? = nil, priority: Int? = nil, expiresAt: Date? = nil, expiresIn: Double? = nil,
        idempotencyKey: String? = nil, uniqueFor: Double? = nil
    ) {
        self.runAt = runAt
        self.delay = delay
        self.priority = priority
        self.expiresAt = expiresAt
        self.expiresIn = expiresIn
        self.idempotencyKey = idempotencyKey
        self.uniqueFor = uniqueFor
    }

    /// The options in the manager's wire names; times as seconds since 1970.
    var json: JSONValue {
        var fields: [String: JSONValue] = [:]
        fields["run_at"] = runAt.map { .double($0.timeIntervalSince1970) }
        fields["delay"] = delay.map(JSONValue.double)
        fields["priority"] = priority.map(JSONValue.int)
        fields["expires_at"] = expiresAt.map { .double($0.timeIntervalSince1970) }
        fields["expires_in"] = expiresIn.map(JSONValue.double)
        fields["idempotency_key"] = idempotencyKey.map(JSONValue.string)
        fields["unique_for"] = uniqueFor.map(JSONValue.double)
        return .object(fields)
    }
}
