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
        let (sql, arguments) = Self.countSelection(queue: queue, statuses: statuses ?? Set(JobStatus.allCases))
        guard !sql.isEmpty else { return [:] }
        return try await read("count jobs", context: ["queue": queue ?? "*"]) { db in
            var counts: [JobStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                if let status = JobStatus(rawValue: row["status"]), let count: Int = row["count"], count > 0 { counts[status] = count }
            }
            return counts
        }
    }

    /// The count of each of `statuses` (of one queue, or of all), each read from the index
    /// that holds its status alone (``SQLiteStatusIndex``); empty SQL for no statuses.
    static func countSelection(queue: String?, statuses: Set<JobStatus>) -> (String, StatementArguments) {
        var parts: [String] = []
        var arguments = StatementArguments()
        for (index, held) in SQLiteStatusIndex.covering(statuses) {
            // One status is named, not grouped by: a group would read each row's status.
            let selected = held.count == 1 ? "'\(held[0].rawValue)' AS status" : "status"
            var sql = "SELECT \(selected), COUNT(*) AS count FROM jobs INDEXED BY \(index.counted) WHERE \(index.condition(for: held))"
            if let queue {
                sql += " AND queue = ?"
                arguments += [queue]
            }
            parts.append(held.count == 1 ? sql : sql + " GROUP BY status")
        }
        return (parts.joined(separator: " UNION ALL "), arguments)
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
        if let statuses = filter.statuses, statuses.isEmpty { return [] }
        let (sql, arguments) = Self.listSelection(filter)
        return try await read("list jobs") { db in
            try Self.fetchJobs(db, sql: sql, arguments: arguments).map(\.job)
        }
    }

    /// A page of jobs newest first. Without a status filter the table is read newest first;
    /// with one, each status's own index gives its newest `limit + offset` (``SQLiteStatusIndex``),
    /// and the page is taken from those.
    static func listSelection(_ filter: JobFilter) -> (String, StatementArguments) {
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
        if filter.excludePulled {
            conditions.append("pulled_at IS NULL")
        }
        if let since = filter.since {
            conditions.append("created_at >= ?")
            arguments += [since.timeIntervalSince1970]
        }
        let limit = max(0, filter.limit)
        let offset = max(0, filter.offset)
        guard let statuses = filter.statuses else {
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return ("SELECT \(jobColumns) FROM jobs \(whereClause) ORDER BY seq DESC LIMIT ? OFFSET ?", arguments + [limit, offset])
        }
        var parts: [String] = []
        var partArguments = StatementArguments()
        for (index, held) in SQLiteStatusIndex.covering(statuses) {
            let narrowed = ([index.condition(for: held)] + conditions).joined(separator: " AND ")
            parts.append(
                "SELECT seq FROM (SELECT seq FROM jobs \(index.listedClause) WHERE \(narrowed) ORDER BY seq DESC LIMIT ?)")
            partArguments += arguments + [limit > Int.max - offset ? Int.max : limit + offset]
        }
        return (
            "SELECT \(jobColumns) FROM jobs WHERE seq IN (\(parts.joined(separator: " UNION ALL "))) ORDER BY seq DESC LIMIT ? OFFSET ?",
            partArguments + [limit, offset]
        )
    }
}
