import EasyJobsCore
import Foundation

/// A job a claim leased to a host, as the claim hands it out: what the host needs to run it and
/// what the manager counts as it starts. A claim reads these columns alone: returning a whole
/// ``Job`` (33 columns on SQLite) cost SQLite about 2 of its 30 µs per job (issue 14,
/// `scripts/sqlite-floor.py`).
///
/// ```swift
/// let runs = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 5, leaseDuration: 30, now: .now)
/// let reports = runs.map { JobReport(jobID: $0.id, lease: $0.lease, outcome: .completed(.null)) }
/// ```
public struct ClaimedRun: Sendable, Hashable {
    public var id: String
    public var queue: String
    public var task: String
    public var args: [String: JSONValue]
    /// The run's attempt, this one counted.
    public var attempts: Int
    /// The run's fencing token (``Job/lease``).
    public var lease: Int
    public var leaseExpiresAt: Date
    public var createdAt: Date
    /// When it was due, if it was enqueued for later.
    public var runAt: Date?
    /// How many `run_before` jobs it waited for; their results go with it to the host.
    public var dependencies: Int
    public var priority: Int

    public init(
        id: String, queue: String, task: String, args: [String: JSONValue], attempts: Int, lease: Int, leaseExpiresAt: Date, createdAt: Date,
        runAt: Date? = nil, dependencies: Int = 0, priority: Int = 0
    ) {
        self.id = id
        self.queue = queue
        self.task = task
        self.args = args
        self.attempts = attempts
        self.lease = lease
        self.leaseExpiresAt = leaseExpiresAt
        self.createdAt = createdAt
        self.runAt = runAt
        self.dependencies = dependencies
        self.priority = priority
    }

    /// The run of a job a store read whole (a store that claims by reading every column).
    public init(_ job: Job) {
        self.init(
            id: job.id, queue: job.queue, task: job.task, args: job.args, attempts: job.attempts, lease: job.lease,
            leaseExpiresAt: job.leaseExpiresAt ?? job.startedAt ?? job.createdAt, createdAt: job.createdAt, runAt: job.runAt,
            dependencies: job.dependencies, priority: job.priority)
    }

    /// The lease a report, renewal or release of this run names.
    public var leased: LeasedJob { LeasedJob(jobID: id, lease: lease) }
}
