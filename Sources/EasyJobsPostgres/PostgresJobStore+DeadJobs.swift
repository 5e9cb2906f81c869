import EasyJobsCore
import EasyJobsStore
import Foundation
import PostgresNIO

/// Dead jobs in bulk: one statement over rows locked `FOR UPDATE SKIP LOCKED`, so two managers
/// (or two operators) never revive or delete one job twice.
extension PostgresJobStore {
    public func reviveDead(_ filter: DeadJobFilter, now: Date) async throws -> [Job] {
        guard !filter.statuses.isEmpty, filter.limit > 0 else { return [] }
        var binds = PostgresBindings()
        let selection = Self.deadSelection(filter, revivable: true, binds: &binds)
        let query = PostgresQuery(
            unsafeSQL: """
                UPDATE jobs
                SET status = 'queued', attempts = 0, lost_leases = 0, result = NULL, finished_at = NULL, started_at = NULL,
                    pulled_at = NULL, host_id = NULL, lease_expires_at = NULL, cancel_requested = FALSE, run_at = 0, expires_at = NULL,
                    progress = NULL, progress_message = NULL
                WHERE seq IN (\(selection))
                RETURNING \(Self.jobColumns)
                """, binds: binds)
        return try await transaction("revive dead jobs", context: ["queue": filter.queue ?? "*", "task": filter.task ?? "*"]) { connection in
            let revived = try await Self.fetchJobs(connection, query, logger: self.logger).sorted { $0.seq < $1.seq }.map(\.job)
            try await Self.notify(Set(revived.map(\.queue)).map(StoreEvent.workArrived), connection, logger: self.logger)
            return revived
        }
    }

    public func discardDead(_ filter: DeadJobFilter) async throws -> Int {
        guard !filter.statuses.isEmpty, filter.limit > 0 else { return 0 }
        var binds = PostgresBindings()
        let selection = Self.deadSelection(filter, revivable: false, binds: &binds)
        let query = PostgresQuery(unsafeSQL: "DELETE FROM jobs WHERE seq IN (\(selection)) RETURNING id", binds: binds)
        return try await transaction("discard dead jobs", context: ["queue": filter.queue ?? "*", "task": filter.task ?? "*"]) { connection in
            let ids: [String] = try await connection.query(query, logger: self.logger).collect().map { try Columns($0)["id"] }
            if !ids.isEmpty {
                _ = try await connection.query("DELETE FROM job_logs WHERE job_id = ANY(\(ids))", logger: self.logger).collect()
            }
            return ids.count
        }
    }

    /// The `seq` of the oldest dead jobs the filter takes, locked; with `revivable`, only those
    /// whose `run_before` dependencies all completed.
    static func deadSelection(_ filter: DeadJobFilter, revivable: Bool, binds: inout PostgresBindings) -> String {
        func parameter(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        var conditions = ["status IN (\(filter.statusesSQL))"]
        if let queue = filter.queue { conditions.append("queue = \(parameter(queue))") }
        if let task = filter.task { conditions.append("task = \(parameter(task))") }
        if let before = filter.finishedBefore { conditions.append("finished_at < \(parameter(before.timeIntervalSince1970))") }
        if revivable {
            conditions.append(
                """
                NOT EXISTS (SELECT 1 FROM jobs AS dependency
                    WHERE dependency.parent_id = dead.id AND dependency.origin = 'run_before' AND dependency.status != 'completed')
                """)
        }
        return """
            SELECT seq FROM jobs AS dead WHERE \(conditions.joined(separator: " AND "))
            ORDER BY seq LIMIT \(parameter(filter.limit)) FOR UPDATE SKIP LOCKED
            """
    }
}
