import EasyJobsCore
import Foundation

/// A schedule as stored: its definition, from the task's options, and its state.
public struct ScheduleRecord: Sendable, Hashable {
    public var queue: String
    public var task: String
    public var expression: String
    public var timeZone: String
    public var catchUp: CatchUpPolicy
    public var defaultArgs: [String: JSONValue]
    public var paused: Bool
    /// When the schedule became known: fires before it are not missed fires.
    public var createdAt: Date
    /// The last time it fired for (never twice for one time).
    public var lastFireAt: Date?
    public var lastJobID: String?

    public init(
        queue: String, task: String, expression: String, timeZone: String, catchUp: CatchUpPolicy, defaultArgs: [String: JSONValue],
        paused: Bool = false, createdAt: Date, lastFireAt: Date? = nil, lastJobID: String? = nil
    ) {
        self.queue = queue
        self.task = task
        self.expression = expression
        self.timeZone = timeZone
        self.catchUp = catchUp
        self.defaultArgs = defaultArgs
        self.paused = paused
        self.createdAt = createdAt
        self.lastFireAt = lastFireAt
        self.lastJobID = lastJobID
    }
}
