import EasyJobsCore
import Foundation

/// A job about to be stored.
public struct NewJob: Sendable {
    public var id: String
    public var queue: String
    public var task: String
    public var args: [String: JSONValue]
    public var createdAt: Date
    /// `.queued`, or `.waiting` for a job with `run_before` dependencies (also `.failed` for a job
    /// that is born failed, such as a `run_after` whose input does not fit).
    public var status: JobStatus
    public var origin: JobOrigin
    public var maxAttempts: Int?
    /// How many `run_before` jobs it waits for.
    public var dependencies: Int
    /// Set when `status` is `.failed`.
    public var error: String?
    /// For a job a schedule fires: the time it fires for.
    public var scheduledFor: Date?
    /// Not claimed before this time; a `.scheduled` job is queued when it comes.
    public var runAt: Date?
    /// Higher runs first; equal priorities run oldest first.
    public var priority: Int = 0
    /// Ends `expired` if not started by then.
    public var expiresAt: Date?
    /// When set, the job is stored only if no job of its queue matches it
    /// (``JobStore/enqueue(_:)`` answers the one that does).
    public var uniqueness: Uniqueness?
    /// Where the manager POSTs the outcome when the job ends.
    public var webhookURL: String?

    public init(
        id: String = Job.newID(), queue: String, task: String, args: [String: JSONValue], createdAt: Date = .now,
        status: JobStatus = .queued, origin: JobOrigin = .api, maxAttempts: Int? = 2, dependencies: Int = 0, error: String? = nil,
        scheduledFor: Date? = nil
    ) {
        self.id = id
        self.queue = queue
        self.task = task
        self.args = args
        self.createdAt = createdAt
        self.status = status
        self.origin = origin
        self.maxAttempts = maxAttempts
        self.dependencies = dependencies
        self.error = error
        self.scheduledFor = scheduledFor
    }

    /// The job as stored.
    public var job: Job {
        var job = Job(
            id: id, queue: queue, task: task, args: args, status: status, error: error, createdAt: createdAt,
            finishedAt: status == .failed ? createdAt : nil, origin: origin, maxAttempts: maxAttempts, dependencies: dependencies,
            scheduledFor: scheduledFor, priority: priority, expiresAt: expiresAt)
        job.runAt = runAt
        job.webhookURL = webhookURL
        return job
    }
}

/// What makes an enqueue a repeat of an earlier one: a job of the same queue with the same key,
/// created at or after `since`, in a status not in `ignoring`.
///
/// An `Idempotency-Key` matches for as long as the job is kept, in any status; `unique_for`
/// matches jobs of the same task and arguments created within its period that did not end
/// failed, cancelled or expired (a failed run may be asked for again).
public struct Uniqueness: Sendable, Hashable {
    public var key: String
    public var since: Date
    public var ignoring: Set<JobStatus>
    /// The match must be of the same task with the same arguments, or the enqueue fails with
    /// `idempotency_conflict` (a key reused for another job is the client's mistake).
    public var requiresSameJob: Bool

    public init(key: String, since: Date = .distantPast, ignoring: Set<JobStatus> = [], requiresSameJob: Bool = false) {
        self.key = key
        self.since = since
        self.ignoring = ignoring
        self.requiresSameJob = requiresSameJob
    }

    /// Checks that `existing`, which matched `job`'s key, may answer for it.
    public func check(_ existing: Job, answering job: NewJob) throws(EasyJobsError) {
        guard requiresSameJob, existing.task != job.task || existing.args != job.args else { return }
        throw EasyJobsError(
            .idempotencyConflict,
            "the idempotency key was used for job \(existing.id) (task '\(existing.task)') with other arguments; use a new key for a new job",
            context: ["request_id": existing.id, "task": existing.task])
    }

    /// The statuses that match, as SQL string literals (`'queued', 'running'`): a fixed set of
    /// names, so it is spelled into the statement rather than bound.
    public var matchingStatusesSQL: String {
        JobStatus.allCases.filter { !ignoring.contains($0) }.map { "'\($0.rawValue)'" }.joined(separator: ", ")
    }
}
