import EasyJobsCore
import Foundation
import GRDB

/// Reading jobs: one, a filtered page, a parent's children, dependency results, counts.
extension SQLiteJobStore {
    /// The jobs finished in the last minute, from `jobs_finished`. Named with `INDEXED BY`, as
    /// the statements below: without statistics SQLite planned a walk of the whole table.
    static let recentlyFinishedCount = """
        SELECT queue, status, COUNT(*) AS count FROM jobs INDEXED BY jobs_finished WHERE finished_at >= ? GROUP BY queue, status
        """

    /// The results of the completed `run_before` dependencies of `count` parents, from
    /// `jobs_parent`: SQLite chose `jobs_status` for `status = 'completed'` and read every
    /// completed job for each claim of a job that has dependencies.
    static func dependencyResultsSelection(count: Int) -> String {
        """
        SELECT parent_id, task, result FROM jobs INDEXED BY jobs_parent
        WHERE parent_id IN (\(placeholders(count))) AND origin = 'run_before' AND status = 'completed'
        """
    }

    public func finishedCounts(since: Date) async throws -> [String: [JobStatus: Int]] {
        try await read("count recent jobs") { db in
            var counts: [String: [JobStatus: Int]] = [:]
            for row in try Row.fetchAll(db, sql: Self.recentlyFinishedCount, arguments: [since.timeIntervalSince1970]) {
                if let status = JobStatus(rawValue: row["status"]) { counts[row["queue"], default: [:]][status] = row["count"] }
            }
            return counts
        }
    }

    public func counts(queue: String?, statuses: Set<JobStatus>?) async throws -> [JobStatus: Int] {
        try await read("count jobs", context: ["queue": queue ?? "*"]) { db in
            var conditions: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            if let queue {
                conditions.append("queue = ?")
                arguments.append(queue)
            }
            if let statuses {
                guard !statuses.isEmpty else { return [:] }
                // An IN list on the index's second column: jobs_claim (queue, status, seq) or
                // jobs_status (status, seq) is read for those statuses only.
                conditions.append("status IN (\(Array(repeating: "?", count: statuses.count).joined(separator: ", ")))")
                arguments += statuses.map(\.rawValue).sorted()
            }
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT status, COUNT(*) AS count FROM jobs \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) GROUP BY status",
                arguments: StatementArguments(arguments))
            var counts: [JobStatus: Int] = [:]
            for row in rows {
                if let status = JobStatus(rawValue: row["status"]) { counts[status] = row["count"] }
            }
            return counts
        }
    }

    public func children(of parentID: String) async throws -> [Job] {
        try await read("list a job's children", context: ["job_id": parentID]) { db in
            try Self.fetchJobs(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE parent_id = ? ORDER BY seq", arguments: [parentID]).map(\.job)
        }
    }

    public func dependencyResults(of jobIDs: [String]) async throws -> [String: [String: JSONValue]] {
        guard !jobIDs.isEmpty else { return [:] }
        let sql = Self.dependencyResultsSelection(count: jobIDs.count)
        return try await read("read dependency results") { db in
            var results: [String: [String: JSONValue]] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(jobIDs)) {
                let parent: String = row["parent_id"]
                let text: String? = row["result"]
                results[parent, default: [:]][row["task"]] = try text.map(JSONValue.parse) ?? .null
            }
            return results
        }
    }

    public func job(id: String) async throws -> Job? {
        try await read("read a job", context: ["job_id": id]) { db in
            try Self.fetchJobs(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", arguments: [id]).first?.job
        }
    }

    /// Newest first. An empty `statuses` set matches nothing; a negative limit counts as 0.
    public func jobs(_ filter: JobFilter) async throws -> [Job] {
        var conditions: [String] = []
        var arguments = StatementArguments()
        if let queue = filter.queue {
            conditions.append("queue = ?")
            arguments += [queue]
        }
        if let task = filter.task {
            conditions.append("task = ?")
            arguments += [task]
        }
        if let statuses = filter.statuses {
            guard !statuses.isEmpty else { return [] }
            conditions.append("status IN (\(Self.placeholders(statuses.count)))")
            arguments += StatementArguments(statuses.map(\.rawValue))
        }
        if filter.excludePulled {
            conditions.append("pulled_at IS NULL")
        }
        if let since = filter.since {
            conditions.append("created_at >= ?")
            arguments += [since.timeIntervalSince1970]
        }
        arguments += [max(0, filter.limit), max(0, filter.offset)]
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(Self.jobColumns) FROM jobs \(whereClause) ORDER BY seq DESC LIMIT ? OFFSET ?"
        return try await read("list jobs") { [arguments] db in
            try Self.fetchJobs(db, sql: sql, arguments: arguments).map(\.job)
        }
    }
}
