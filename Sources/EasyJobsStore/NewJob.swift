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
        Job(
            id: id, queue: queue, task: task, args: args, status: status, error: error, createdAt: createdAt,
            finishedAt: status == .failed ? createdAt : nil, origin: origin, maxAttempts: maxAttempts, dependencies: dependencies,
            scheduledFor: scheduledFor)
    }
}
