#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A task's schedule as the manager keeps and shows it (`GET /schedules`).
public struct ScheduleView: Codable, Sendable, Hashable {
    public var queue: String
    public var task: String
    public var expression: String
    public var timeZone: String
    public var catchUp: CatchUpPolicy
    public var defaultArgs: [String: JSONValue]
    public var paused: Bool
    public var nextFireAt: Date?
    public var lastFireAt: Date?
    public var lastJobID: String?
    /// The status of the last job it fired.
    public var lastOutcome: JobStatus?

    public init(
        queue: String, task: String, expression: String, timeZone: String, catchUp: CatchUpPolicy, defaultArgs: [String: JSONValue],
        paused: Bool, nextFireAt: Date?, lastFireAt: Date?, lastJobID: String?, lastOutcome: JobStatus?
    ) {
        self.queue = queue
        self.task = task
        self.expression = expression
        self.timeZone = timeZone
        self.catchUp = catchUp
        self.defaultArgs = defaultArgs
        self.paused = paused
        self.nextFireAt = nextFireAt
        self.lastFireAt = lastFireAt
        self.lastJobID = lastJobID
        self.lastOutcome = lastOutcome
    }

    enum CodingKeys: String, CodingKey {
        case queue, task, expression, timeZone = "time_zone", catchUp = "catch_up", defaultArgs = "default_args", paused
        case nextFireAt = "next_fire_at", lastFireAt = "last_fire_at", lastJobID = "last_job_id", lastOutcome = "last_outcome"
    }
}

/// What is paused (`GET /control/paused`): hosts by name and whole queues. Kept across restarts.
public struct PausedWork: Codable, Sendable, Hashable {
    public var hosts: [String]
    public var queues: [String]

    public init(hosts: [String], queues: [String]) {
        self.hosts = hosts
        self.queues = queues
    }
}
