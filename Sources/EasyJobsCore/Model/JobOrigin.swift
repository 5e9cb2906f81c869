/// What created a job: the edge that links it into a pipeline's graph.
public struct JobOrigin: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A client's request.
        case api
        /// A cron schedule.
        case schedule
        /// The `run_after` of the parent, which completed; its result is this job's arguments.
        case runAfter = "run_after"
        /// The `run_before` of the parent, which waits for this job.
        case runBefore = "run_before"
        /// The parent called this task and awaits its result.
        case call
        /// The `on_failure` of the parent, which failed for good.
        case onFailure = "on_failure"
        /// The parent enqueued this task without waiting for it (`context.enqueue`).
        case enqueued
    }

    public var kind: Kind
    /// The job this one was created for; `nil` for `api` and `schedule`.
    public var parentID: String?

    public init(_ kind: Kind, parent: String? = nil) {
        self.kind = kind
        parentID = parent
    }

    public static let api = JobOrigin(.api)

    public var description: String {
        parentID.map { "\(kind.rawValue) of job \($0)" } ?? kind.rawValue
    }

    enum CodingKeys: String, CodingKey { case kind, parentID = "parent_id" }
}
