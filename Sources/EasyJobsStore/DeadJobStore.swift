import EasyJobsCore
import Foundation

/// Dead jobs (those that failed for good or expired, and cancelled ones when asked for) handled
/// in bulk: an operator puts a batch back in its queue after a fix, or clears it.
///
/// ```swift
/// let revived = try await store.reviveDead(DeadJobFilter(queue: "ETL", task: "extract"), now: .now)
/// ```
public protocol DeadJobStore: Sendable {
    /// Queues again, in place (each keeps its request id), up to `filter.limit` dead jobs that
    /// match, oldest first: their tries start over, and their result, pulled mark, host and
    /// deadline are cleared; the last error stays until the job ends again. A job whose
    /// `run_before` dependencies did not all complete is left dead (it could not run as asked).
    /// Returns the jobs queued.
    func reviveDead(_ filter: DeadJobFilter, now: Date) async throws -> [Job]

    /// Deletes up to `filter.limit` dead jobs that match, oldest first, with their logs; returns
    /// how many.
    func discardDead(_ filter: DeadJobFilter) async throws -> Int
}

/// Which dead jobs a bulk retry or discard takes.
public struct DeadJobFilter: Sendable, Hashable {
    /// The statuses a bulk operation may take: the ends a job does not come back from by itself.
    public static let deadStatuses: Set<JobStatus> = [.failed, .expired, .cancelled]

    public var queue: String?
    public var task: String?
    /// Among ``deadStatuses``; failed and expired when not given.
    public var statuses: Set<JobStatus>
    /// Only jobs that ended before this time (a fix deployed then).
    public var finishedBefore: Date?
    public var limit: Int

    public init(
        queue: String? = nil, task: String? = nil, statuses: Set<JobStatus> = [.failed, .expired], finishedBefore: Date? = nil,
        limit: Int = 1_000
    ) {
        self.queue = queue
        self.task = task
        self.statuses = statuses.intersection(Self.deadStatuses)
        self.finishedBefore = finishedBefore
        self.limit = limit
    }

    /// The statuses as SQL string literals: a fixed set of names, spelled into the statement.
    public var statusesSQL: String {
        statuses.map(\.rawValue).sorted().map { "'\($0)'" }.joined(separator: ", ")
    }
}
