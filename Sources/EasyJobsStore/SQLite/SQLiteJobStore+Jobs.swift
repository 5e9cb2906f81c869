import EasyJobsCore
import Foundation
import GRDB

/// Writing jobs: enqueues, claims, hand-backs, lease renewals, cancellation requests, pulls
/// and discards. (How a run ends is `+Transitions`.)
extension SQLiteJobStore {
    /// Stores new jobs in one transaction. Fails with `store_failure` if a job with the
    /// same id exists; then none is stored. A job whose ``NewJob/uniqueness`` matches a stored
    /// job is skipped with the jobs planned with it (SQLite's one writer makes the check and the
    /// insert atomic).
    @discardableResult
    public func enqueue(_ jobs: [NewJob]) async throws -> [String: Job] {
        guard !jobs.isEmpty else { return [:] }
        guard jobs.contains(where: { $0.uniqueness != nil }) else {
            let rows = Self.rows(jobs)
            try await write("enqueue jobs", context: ["job_id": jobs[0].id, "count": "\(jobs.count)"]) { db in
                try Self.insert(rows, db)
            }
            return [:]
        }
        return try await write("enqueue jobs", context: ["job_id": jobs[0].id, "count": "\(jobs.count)"]) { db in
            var matched: [String: Job] = [:]
            var skipped: Set<String> = []
            for job in jobs {
                if let parent = job.origin.parentID, skipped.contains(parent) {
                    skipped.insert(job.id)
                    continue
                }
                if let uniqueness = job.uniqueness, let existing = try Self.match(uniqueness, queue: job.queue, db) {
                    try uniqueness.check(existing, answering: job)
                    matched[job.id] = existing
                    skipped.insert(job.id)
                    continue
                }
                try Self.insert(Self.rows([job]), db)
            }
            return matched
        }
    }

    /// The oldest job of `queue` that `uniqueness` matches.
    static func match(_ uniqueness: Uniqueness, queue: String, _ db: Database) throws -> Job? {
        try fetchJobs(
            db,
            sql: """
                SELECT \(jobColumns) FROM jobs
                WHERE queue = ? AND unique_key = ? AND created_at >= ? AND status IN (\(uniqueness.matchingStatusesSQL))
                ORDER BY created_at LIMIT 1
                """,
            arguments: [queue, uniqueness.key, uniqueness.since == .distantPast ? -Double.infinity : uniqueness.since.timeIntervalSince1970]
        ).first?.job
    }

    static func insert(_ rows: [StatementArguments], _ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO jobs (id, queue, task, args, status, attempts, created_at, origin, parent_id, max_attempts, dependencies, error, finished_at, scheduled_for, run_at, priority, expires_at, unique_key, webhook_url)
                VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for row in rows {
            try statement.execute(arguments: row)
        }
    }

    static func rows(_ jobs: [NewJob]) -> [StatementArguments] {
        jobs.map { job in
            let created = job.createdAt.timeIntervalSince1970
            var row: StatementArguments = [
                job.id, job.queue, job.task, String(decoding: JSONValue.object(job.args).encoded(), as: UTF8.self),
                job.status.rawValue, created, job.origin.kind.rawValue, job.origin.parentID, job.maxAttempts,
                job.dependencies, job.error, job.status == .failed ? created : nil, job.scheduledFor?.timeIntervalSince1970,
            ]
            row += [job.runAt?.timeIntervalSince1970 ?? 0, job.priority, job.expiresAt?.timeIntervalSince1970, job.uniqueness?.key, job.webhookURL]
            return row
        }
    }

    public func discard(jobID: String) async throws -> Bool {
        try await write("discard a job", context: ["job_id": jobID]) { db in
            try db.execute(
                sql: "DELETE FROM jobs WHERE id = ? AND status IN ('completed', 'failed', 'cancelled', 'expired')", arguments: [jobID])
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
        queue: String, tasks: Set<String>, hostID: String, limit: Int, leaseDuration: TimeInterval, now: Date, limits: [String: TaskClaimLimit]
    ) async throws -> [ClaimedRun] {
        guard !tasks.isEmpty, limit > 0 else { return [] }
        return try await write("claim jobs", context: ["queue": queue, "host_id": hostID]) { db in
            try Self.claim(
                QueueClaim(queue: queue, tasks: tasks, limit: limit, limits: limits), hostID: hostID, leaseDuration: leaseDuration, now: now, db)
        }
    }

    /// A claim inside a write transaction (a claim's own, or a report's that claims).
    static func claim(_ part: QueueClaim, hostID: String, leaseDuration: TimeInterval, now: Date, _ db: Database) throws -> [ClaimedRun] {
        let (queue, tasks, limit) = (part.queue, part.tasks, part.limit)
        guard !tasks.isEmpty, limit > 0 else { return [] }
        let limits = part.limits.filter { tasks.contains($0.key) }
        try Self.promote(queue: queue, now: now, db)
        // Inside the write transaction: SQLite's one writer makes the count and the claim atomic.
        var served = tasks.count >= queuedTaskWalkMinimum ? try Self.queuedTasks(queue: queue, among: tasks, db) : tasks
        guard !served.isEmpty else { return [] }
        var taskLimits: [String: Int] = [:]
        for (task, taskLimit) in limits where served.contains(task) {
            let allowed = try Self.allowance(taskLimit, queue: queue, task: task, now: now, db)
            if allowed == 0 { served.remove(task) } else { taskLimits[task] = allowed }
        }
        guard !served.isEmpty else { return [] }
        let selection = SQLiteClaimQuery(queue: queue, tasks: served, limit: limit, now: now, taskLimits: taskLimits)
        var arguments: StatementArguments = [hostID, now.addingTimeInterval(leaseDuration).timeIntervalSince1970, now.timeIntervalSince1970]
        arguments += selection.arguments
        // RETURNING gives rows in no defined order; the claim's order is restored.
        let statement = try db.cachedStatement(sql: selection.claimSQL)
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        var runs: [(seq: Int64, run: ClaimedRun)] = []
        while let row = try rows.next() {
            runs.append(try decodeClaimedRun(row))
        }
        let claimed = runs.sorted { ($0.run.priority, -$0.seq) > ($1.run.priority, -$1.seq) }.map(\.run)
        for (task, taskLimit) in limits {
            guard let window = taskLimit.window(at: now) else { continue }
            let count = claimed.count { $0.task == task }
            if count > 0 { try Self.countStarts(count, queue: queue, task: task, window: window, db) }
        }
        return claimed
    }

    /// The tasks of `served` that have queued jobs in `queue`, or all of `served` when the queue
    /// has more distinct queued tasks than ``queuedTaskScan``.
    ///
    /// A claim reads one arm per task it is given, and most of a host's tasks have nothing queued
    /// most of the time: with the 30-odd tasks of the benchmark's host, the claim of a chain's next
    /// step spent more on the arms of empty tasks than on its one job. This walks
    /// `jobs_claim_task` from one distinct task to the next (one seek each, however many jobs
    /// each has) so the claim reads only arms that can find something.
    static func queuedTasks(queue: String, among served: Set<String>, _ db: Database) throws -> Set<String> {
        let statement = try db.cachedStatement(
            sql: """
                WITH RECURSIVE queued(task) AS (
                    SELECT (SELECT task FROM jobs INDEXED BY jobs_claim_task WHERE queue = ?1 AND status = 'queued' ORDER BY task LIMIT 1)
                    UNION ALL
                    SELECT (
                        SELECT task FROM jobs INDEXED BY jobs_claim_task
                        WHERE queue = ?1 AND status = 'queued' AND task > queued.task ORDER BY task LIMIT 1
                    )
                    FROM queued WHERE queued.task IS NOT NULL
                    LIMIT ?2
                )
                SELECT task FROM queued WHERE task IS NOT NULL
                """)
        let found = try String.fetchAll(statement, arguments: [queue, queuedTaskScan + 1])
        guard found.count <= queuedTaskScan else { return served }
        return served.intersection(found)
    }

    /// The most distinct queued tasks ``queuedTasks(queue:among:_:)`` walks before it gives up
    /// narrowing: it bounds the walk as the arms bound the claim.
    static let queuedTaskScan = 64

    /// The fewest tasks a claim narrows by ``queuedTasks(queue:among:_:)``: a smaller claim reads
    /// every arm, since the walk costs about what it would save (in Python's `sqlite3`, a walk over
    /// four distinct queued tasks took 9.7 µs, an arm about 2 µs).
    static let queuedTaskWalkMinimum = 5

    /// How many jobs of `task` may start now: its running jobs (read from the running rows alone,
    /// at most the hosts' slots) against its cap, its starts in this window against its rate.
    static func allowance(_ limit: TaskClaimLimit, queue: String, task: String, now: Date, _ db: Database) throws -> Int {
        let running =
            limit.concurrency == nil
            ? 0
            : try Int.fetchOne(
                db.cachedStatement(sql: "SELECT COUNT(*) FROM jobs INDEXED BY jobs_lease_expiry WHERE status = 'running' AND queue = ? AND task = ?"),
                arguments: [queue, task]) ?? 0
        let started =
            try limit.window(at: now).map { window in
                try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT count FROM task_rates WHERE queue = ? AND task = ? AND window_start = ?"),
                    arguments: [queue, task, window]) ?? 0
            } ?? 0
        return limit.allowance(running: running, started: started)
    }

    /// Adds `count` starts of `task` to the window (a new window starts over).
    static func countStarts(_ count: Int, queue: String, task: String, window: Int64, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO task_rates (queue, task, window_start, count) VALUES (?, ?, ?, ?)
                ON CONFLICT (queue, task) DO UPDATE SET
                    count = CASE WHEN task_rates.window_start = excluded.window_start THEN task_rates.count + excluded.count ELSE excluded.count END,
                    window_start = excluded.window_start
                """
        ).execute(arguments: [queue, task, window, count])
    }

    @discardableResult
    public func promoteScheduled(queue: String?, now: Date) async throws -> Int {
        try await write("queue scheduled jobs", context: ["queue": queue ?? "*"]) { db in
            try Self.promote(queue: queue, now: now, db)
        }
    }

    /// Queues the scheduled jobs whose time came; read from `jobs_scheduled`, so it costs
    /// nothing while none is due.
    @discardableResult
    static func promote(queue: String?, now: Date, _ db: Database) throws -> Int {
        if let queue {
            try db.cachedStatement(
                sql: "UPDATE jobs INDEXED BY jobs_scheduled SET status = 'queued' WHERE queue = ? AND status = 'scheduled' AND run_at <= ?"
            )
            .execute(arguments: [queue, now.timeIntervalSince1970])
        } else {
            try db.execute(
                sql: "UPDATE jobs INDEXED BY jobs_scheduled SET status = 'queued' WHERE status = 'scheduled' AND run_at <= ?",
                arguments: [now.timeIntervalSince1970])
        }
        return db.changesCount
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
                    UPDATE jobs INDEXED BY jobs_waiting SET status = 'queued' WHERE \(Self.readyToRelease) RETURNING \(Self.jobColumns)
                    """, arguments: []
            ).sorted { $0.seq < $1.seq }.map(\.job)
        }
    }

    public func setProgress(jobID: String, lease: Int, hostID: String, fraction: Double, message: String?) async throws -> Bool {
        try await write("record progress", context: ["job_id": jobID]) { db in
            try db.cachedStatement(
                sql: "UPDATE jobs SET progress = ?, progress_message = ? WHERE id = ? AND lease = ? AND host_id = ? AND status = 'running'"
            ).execute(arguments: [fraction, message, jobID, lease, hostID])
            return db.changesCount == 1
        }
    }

    public func cancelRequested(hostID: String) async throws -> [String] {
        try await read("read cancellations", context: ["host_id": hostID]) { db in
            try String.fetchAll(
                db.cachedStatement(
                    sql: "SELECT id FROM jobs INDEXED BY jobs_lease_expiry WHERE host_id = ? AND status = 'running' AND cancel_requested = 1"),
                arguments: [hostID])
        }
    }

    public func release(hostID: String, jobs: [LeasedJob]?) async throws -> [Job] {
        let changes = """
            SET status = 'queued', host_id = NULL, lease_expires_at = NULL, started_at = NULL, attempts = MAX(attempts - 1, 0)
            WHERE host_id = ? AND status = 'running'
            """
        let sql = "UPDATE jobs " + changes
        return try await write("release a host's jobs", context: ["host_id": hostID]) { db in
            guard let jobs else {
                // All of the host's running jobs: read from the index of running jobs alone.
                return try Self.fetchJobs(
                    db, sql: "UPDATE jobs INDEXED BY jobs_lease_expiry " + changes + " RETURNING \(Self.jobColumns)", arguments: [hostID]
                ).map(\.job)
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
                    WHERE id = ? AND status IN ('completed', 'failed', 'cancelled', 'expired') AND pulled_at IS NULL
                    RETURNING \(Self.jobColumns)
                    """, arguments: [now.timeIntervalSince1970, id]
            ).first {
                return (pulled.job, true)
            }
            return try Self.fetchJobs(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", arguments: [id]).first.map { ($0.job, false) }
        }
    }
}
