import EasyJobsCore
import Foundation
import GRDB

/// Writing jobs: enqueues, claims, hand-backs, lease renewals, cancellation requests, pulls
/// and discards. (How a run ends is `+Transitions`.)
extension SQLiteJobStore {
    /// Stores queued jobs in one transaction. Fails with `store_failure` if a job with the
    /// same id exists; then none is stored.
    public func enqueue(_ jobs: [NewJob]) async throws {
        guard !jobs.isEmpty else { return }
        let rows = Self.rows(jobs)
        try await write("enqueue jobs", context: ["job_id": jobs[0].id, "count": "\(jobs.count)"]) { db in
            try Self.insert(rows, db)
        }
    }

    static func insert(_ rows: [StatementArguments], _ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO jobs (id, queue, task, args, status, attempts, created_at, origin, parent_id, max_attempts, dependencies, error, finished_at, scheduled_for)
                VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for row in rows {
            try statement.execute(arguments: row)
        }
    }

    static func rows(_ jobs: [NewJob]) -> [StatementArguments] {
        jobs.map { job in
            let created = job.createdAt.timeIntervalSince1970
            return [
                job.id, job.queue, job.task, String(decoding: JSONValue.object(job.args).encoded(), as: UTF8.self),
                job.status.rawValue, created, job.origin.kind.rawValue, job.origin.parentID, job.maxAttempts,
                job.dependencies, job.error, job.status == .failed ? created : nil, job.scheduledFor?.timeIntervalSince1970,
            ]
        }
    }

    public func discard(jobID: String) async throws -> Bool {
        try await write("discard a job", context: ["job_id": jobID]) { db in
            try db.execute(
                sql: "DELETE FROM jobs WHERE id = ? AND status IN ('completed', 'failed', 'cancelled')", arguments: [jobID])
            guard db.changesCount == 1 else { return false }
            try db.execute(sql: "DELETE FROM job_logs WHERE job_id = ?", arguments: [jobID])
            return true
        }
    }

    /// Moves up to `limit` of the oldest queued jobs of `queue` whose task is in `tasks`
    /// to running, leased to `hostID`, in one `UPDATE … RETURNING` statement.
    ///
    /// The jobs are found per task (``SQLiteClaimQuery``), so the claim costs the same
    /// whatever other tasks' backlog sits ahead of them. The last error of an earlier attempt
    /// is kept until the job finishes again. Returns the jobs in enqueue (FIFO) order.
    public func claim(
        queue: String, tasks: Set<String>, hostID: String, limit: Int, leaseDuration: TimeInterval, now: Date
    ) async throws -> [Job] {
        guard !tasks.isEmpty, limit > 0 else { return [] }
        let selection = SQLiteClaimQuery(queue: queue, tasks: tasks, limit: limit, now: now)
        let sql = """
            UPDATE jobs
            SET status = 'running', host_id = ?, lease_expires_at = ?, started_at = ?, attempts = attempts + 1, lease = lease + 1
            WHERE seq IN (\(selection.sql))
            RETURNING \(Self.jobColumns)
            """
        var arguments: StatementArguments = [hostID, now.addingTimeInterval(leaseDuration).timeIntervalSince1970, now.timeIntervalSince1970]
        arguments += selection.arguments
        return try await write("claim jobs", context: ["queue": queue, "host_id": hostID]) { [arguments] db in
            // RETURNING gives rows in no defined order; FIFO is restored from seq.
            try Self.fetchJobs(db, sql: sql, arguments: arguments).sorted { $0.seq < $1.seq }.map(\.job)
        }
    }

    public func releaseReady(jobID: String?) async throws -> [Job] {
        // One statement: the check that every dependency completed and the release are atomic.
        try await write("release ready jobs", context: ["job_id": jobID ?? "*"]) { db in
            if let jobID {
                return try Self.fetchJobs(
                    db,
                    sql: """
                        UPDATE jobs SET status = 'queued' WHERE id = ? AND \(Self.readyToRelease) RETURNING \(Self.jobColumns)
                        """, arguments: [jobID]
                ).map(\.job)
            }
            return try Self.fetchJobs(
                db,
                sql: """
                    UPDATE jobs SET status = 'queued' WHERE \(Self.readyToRelease) RETURNING \(Self.jobColumns)
                    """, arguments: []
            ).sorted { $0.seq < $1.seq }.map(\.job)
        }
    }

    public func cancelRequested(hostID: String) async throws -> [String] {
        try await read("read cancellations", context: ["host_id": hostID]) { db in
            try String.fetchAll(
                db.cachedStatement(sql: "SELECT id FROM jobs WHERE host_id = ? AND status = 'running' AND cancel_requested = 1"),
                arguments: [hostID])
        }
    }

    public func release(hostID: String, jobs: [LeasedJob]?) async throws -> [Job] {
        let sql = """
            UPDATE jobs SET status = 'queued', host_id = NULL, lease_expires_at = NULL, attempts = MAX(attempts - 1, 0)
            WHERE host_id = ? AND status = 'running'
            """
        return try await write("release a host's jobs", context: ["host_id": hostID]) { db in
            guard let jobs else {
                return try Self.fetchJobs(db, sql: sql + " RETURNING \(Self.jobColumns)", arguments: [hostID]).map(\.job)
            }
            var released: [Job] = []
            for leased in jobs {
                released += try Self.fetchJobs(
                    db, sql: sql + " AND id = ? AND lease = ? RETURNING \(Self.jobColumns)", arguments: [hostID, leased.jobID, leased.lease]
                ).map(\.job)
            }
            return released
        }
    }

    /// Returns the renewed leases in the order they were given.
    public func renewLeases(hostID: String, jobs: [LeasedJob], until: Date) async throws -> [LeasedJob] {
        guard !jobs.isEmpty else { return [] }
        return try await write("renew leases", context: ["host_id": hostID]) { db in
            let statement = try db.cachedStatement(
                sql: """
                    UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease = ? AND host_id = ? AND status = 'running'
                    """)
            var renewed: [LeasedJob] = []
            for leased in jobs {
                try statement.execute(arguments: [until.timeIntervalSince1970, leased.jobID, leased.lease, hostID])
                if db.changesCount == 1 { renewed.append(leased) }
            }
            return renewed
        }
    }

    /// Sets `pulledAt` on a finished job the first time it is pulled; of concurrent pulls,
    /// exactly one is `first`.
    public func pull(id: String, now: Date) async throws -> (job: Job, first: Bool)? {
        try await write("pull a job", context: ["job_id": id]) { db in
            if let pulled = try Self.fetchJobs(
                db,
                sql: """
                    UPDATE jobs SET pulled_at = ?
                    WHERE id = ? AND status IN ('completed', 'failed', 'cancelled') AND pulled_at IS NULL
                    RETURNING \(Self.jobColumns)
                    """, arguments: [now.timeIntervalSince1970, id]
            ).first {
                return (pulled.job, true)
            }
            return try Self.fetchJobs(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", arguments: [id]).first.map { ($0.job, false) }
        }
    }
}
