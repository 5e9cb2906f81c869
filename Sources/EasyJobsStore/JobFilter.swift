import EasyJobsCore
import Foundation

/// Which jobs a listing returns.
public struct JobFilter: Sendable {
    public var queue: String?
    public var task: String?
    public var statuses: Set<JobStatus>?
    /// Leave out jobs whose result was pulled.
    public var excludePulled: Bool
    public var limit: Int
    /// Jobs to skip, for paging.
    public var offset: Int
    /// Only jobs created at or after this time.
    public var since: Date?

    public init(
        queue: String? = nil, task: String? = nil, statuses: Set<JobStatus>? = nil, excludePulled: Bool = true, limit: Int = 100,
        offset: Int = 0, since: Date? = nil
    ) {
        self.queue = queue
        self.task = task
        self.statuses = statuses
        self.excludePulled = excludePulled
        self.limit = limit
        self.offset = offset
        self.since = since
    }
}
