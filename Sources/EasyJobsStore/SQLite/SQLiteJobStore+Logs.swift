import EasyJobsCore
import Foundation
import GRDB

/// The lines jobs wrote, capped per job.
extension SQLiteJobStore {
    public func appendLogs(_ lines: [String: [JobLogLine]], maxLinesPerJob: Int) async throws {
        guard !lines.isEmpty else { return }
        try await write("append job logs") { db in
            let count = try db.cachedStatement(sql: "SELECT COUNT(*) FROM job_logs WHERE job_id = ?")
            let statement = try db.cachedStatement(sql: "INSERT INTO job_logs (job_id, stream, line, at) VALUES (?, ?, ?, ?)")
            for (jobID, jobLines) in lines {
                var stored = try Int.fetchOne(count, arguments: [jobID]) ?? 0
                for line in jobLines {
                    // The cap counts the marker: a job's log never holds more than maxLinesPerJob + 1 lines.
                    if stored > maxLinesPerJob { break }
                    let text = stored == maxLinesPerJob ? "… log truncated after \(maxLinesPerJob) lines" : line.line
                    try statement.execute(arguments: [jobID, line.stream.rawValue, text, line.at.timeIntervalSince1970])
                    stored += 1
                }
            }
        }
    }

    public func logs(jobID: String, limit: Int) async throws -> [JobLogLine] {
        try await read("read a job's log", context: ["job_id": jobID]) { db in
            try Row.fetchAll(
                db, sql: "SELECT stream, line, at FROM job_logs WHERE job_id = ? ORDER BY seq DESC LIMIT ?", arguments: [jobID, max(limit, 0)]
            ).reversed().map { row in
                JobLogLine(
                    stream: JobLogLine.Stream(rawValue: row["stream"]) ?? .stdout, line: row["line"], at: Date(timeIntervalSince1970: row["at"]))
            }
        }
    }
}
