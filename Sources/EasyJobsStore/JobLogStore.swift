import EasyJobsCore
import Foundation

/// What jobs print, kept beside them so a job's log outlives the host that ran it.
public protocol JobLogStore: Sendable {
    /// Appends lines to jobs' logs, keeping at most `maxLinesPerJob` of each job; the first line
    /// past the cap is replaced by one marker line, later ones are dropped.
    func appendLogs(_ lines: [String: [JobLogLine]], maxLinesPerJob: Int) async throws

    /// A job's log, oldest line first, at most `limit` lines from the end.
    func logs(jobID: String, limit: Int) async throws -> [JobLogLine]
}
