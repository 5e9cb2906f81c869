import EasyJobsCore
import Foundation
import GRDB

/// Dead jobs in bulk: each operation is one statement over the jobs it selects, so a job is
/// revived or deleted once however many operators press the button.
extension SQLiteJobStore {
    public func reviveDead(_ filter: DeadJobFilter, now: Date) async throws -> [Job] {
        guard !filter.statuses.isEmpty, filter.limit > 0 else { return [] }
        let (selection, arguments) = Self.deadSelection(filter, revivable: true)
        return try await write("revive dead jobs", context: ["queue": filter.queue ?? "*", "task": filter.task ?? "*"]) { db in
            try Self.fetchJobs(
                db,
                sql: """
                    UPDATE jobs
                    SET status = 'queued', attempts = 0, lost_leases = 0, result = NULL, finished_at = NULL, started_at = NULL,
                        pulled_at = NULL, host_id = NULL, lease_expires_at = NULL, cancel_requested = 0, run_at = 0, expires_at = NULL,
                        progress = NULL, progress_message = NULL
                    WHERE seq IN (\(selection))
                    RETURNING \(Self.jobColumns)
                    """, arguments: arguments
            ).sorted { $0.seq < $1.seq }.map(\.job)
        }
    }

    public func discardDead(_ filter: DeadJobFilter) async throws -> Int {
        guard !filter.statuses.isEmpty, filter.limit > 0 else { return 0 }
        let (selection, arguments) = Self.deadSelection(filter, revivable: false)
        return try await write("discard dead jobs", context: ["queue": filter.queue ?? "*", "task": filter.task ?? "*"]) { db in
            let ids = try String.fetchAll(db, sql: "DELETE FROM jobs WHERE seq IN (\(selection)) RETURNING id", arguments: arguments)
            for id in ids {
                try db.cachedStatement(sql: "DELETE FROM job_logs WHERE job_id = ?").execute(arguments: [id])
            }
            return ids.count
        }
    }

    /// The `seq` of the oldest dead jobs the filter takes; with `revivable`, only those whose
    /// `run_before` dependencies all completed.
    static func deadSelection(_ filter: DeadJobFilter, revivable: Bool) -> (String, StatementArguments) {
        // The index of failed runs holds them (SQLiteStatusIndex); its condition comes first.
        var conditions = [SQLiteStatusIndex.unsuccessfulCondition, "status IN (\(filter.statusesSQL))"]
        var arguments = StatementArguments()
        if let queue = filter.queue {
            conditions.append("queue = ?")
            arguments += [queue]
        }
        if let task = filter.task {
            conditions.append("task = ?")
            arguments += [task]
        }
        if let before = filter.finishedBefore {
            conditions.append("finished_at < ?")
            arguments += [before.timeIntervalSince1970]
        }
        if revivable {
            conditions.append(
                """
                NOT EXISTS (SELECT 1 FROM jobs AS dependency
                    WHERE dependency.parent_id = dead.id AND dependency.origin = 'run_before' AND dependency.status != 'completed')
                """)
        }
        arguments += [filter.limit]
        return (
            "SELECT seq FROM jobs AS dead INDEXED BY jobs_unsuccessful WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq LIMIT ?", arguments
        )
    }
}
