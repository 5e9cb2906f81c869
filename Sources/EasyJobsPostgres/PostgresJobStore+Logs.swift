import EasyJobsCore
import EasyJobsStore
import Foundation
import PostgresNIO

/// Jobs' logs.
extension PostgresJobStore {
    /// Appends each job's lines in one transaction, keeping at most `maxLinesPerJob` per job
    /// and one marker line past the cap.
    ///
    /// Counting and inserting happen under a transaction-level advisory lock per job, taken in
    /// id order (so two appenders cannot deadlock): two managers appending to one job's log at
    /// once would otherwise both count the same lines and pass the cap together.
    public func appendLogs(_ lines: [String: [JobLogLine]], maxLinesPerJob: Int) async throws {
        guard !lines.isEmpty else { return }
        try await transaction("append job logs") { connection in
            for jobID in lines.keys.sorted() {
                guard let jobLines = lines[jobID], !jobLines.isEmpty else { continue }
                _ = try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtextextended(\("easyjobs_log:" + jobID), 0))", logger: self.logger
                ).collect()
                let count = try await connection.query("SELECT COUNT(*) AS count FROM job_logs WHERE job_id = \(jobID)", logger: self.logger)
                    .collect()
                var stored: Int = try count.first.map { try Columns($0)["count"] } ?? 0
                var streams: [String] = []
                var texts: [String] = []
                var times: [Double] = []
                for line in jobLines {
                    // The cap counts the marker: a job's log never holds more than maxLinesPerJob + 1 lines.
                    if stored > maxLinesPerJob { break }
                    streams.append(line.stream.rawValue)
                    texts.append(stored == maxLinesPerJob ? "… log truncated after \(maxLinesPerJob) lines" : Self.text(line.line))
                    times.append(line.at.timeIntervalSince1970)
                    stored += 1
                }
                guard !texts.isEmpty else { continue }
                // unnest keeps the lines' order, so seq follows it.
                _ = try await connection.query(
                    """
                    INSERT INTO job_logs (job_id, stream, line, at)
                    SELECT \(jobID), stream, line, at FROM unnest(\(streams), \(texts), \(times)) WITH ORDINALITY AS new(stream, line, at, position)
                    ORDER BY position
                    """, logger: self.logger
                ).collect()
            }
        }
    }

    public func logs(jobID: String, limit: Int) async throws -> [JobLogLine] {
        let rows = try await query(
            "read a job's log", context: ["job_id": jobID],
            "SELECT stream, line, at FROM job_logs WHERE job_id = \(jobID) ORDER BY seq DESC LIMIT \(max(limit, 0))")
        return try rows.reversed().map { row in
            let columns = Columns(row)
            return JobLogLine(
                stream: JobLogLine.Stream(rawValue: try columns["stream"]) ?? .stdout, line: try columns["line"],
                at: Date(timeIntervalSince1970: try columns["at"]))
        }
    }
}
