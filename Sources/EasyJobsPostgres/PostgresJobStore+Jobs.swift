import EasyJobsCore
import EasyJobsStore
import Foundation
import PostgresNIO

/// Enqueueing, claiming, leases and reading jobs.
extension PostgresJobStore {
    /// Stores new jobs in one transaction. Fails with `store_failure` if a job with the
    /// same id exists; then none is stored. A job whose ``NewJob/uniqueness`` matches a stored
    /// job is skipped with the jobs planned with it; the check holds a transaction-scoped
    /// advisory lock on the key, so managers enqueueing the same key take turns.
    @discardableResult
    public func enqueue(_ jobs: [NewJob]) async throws -> [String: Job] {
        guard !jobs.isEmpty else { return [:] }
        return try await transaction("enqueue jobs", context: ["job_id": jobs[0].id, "count": "\(jobs.count)"]) { connection in
            var matched: [String: Job] = [:]
            var stored = jobs
            if jobs.contains(where: { $0.uniqueness != nil }) {
                // Job by job, in order: a later job of the batch with the same key matches an earlier one.
                var skipped: Set<String> = []
                stored = []
                for job in jobs {
                    if let parent = job.origin.parentID, skipped.contains(parent) {
                        skipped.insert(job.id)
                        continue
                    }
                    if let uniqueness = job.uniqueness,
                        let existing = try await Self.match(uniqueness, queue: job.queue, connection, logger: self.logger)
                    {
                        try uniqueness.check(existing, answering: job)
                        matched[job.id] = existing
                        skipped.insert(job.id)
                        continue
                    }
                    try await Self.insert([job], connection, logger: self.logger)
                    stored.append(job)
                }
            } else {
                try await Self.insert(jobs, connection, logger: self.logger)
            }
            try await Self.notify(Self.events(ofNew: stored), connection, logger: self.logger)
            return matched
        }
    }

    /// The oldest job of `queue` that `uniqueness` matches, after taking the key's advisory lock
    /// (held until the transaction ends).
    static func match(_ uniqueness: Uniqueness, queue: String, _ connection: PostgresConnection, logger: Logger) async throws -> Job? {
        _ = try await connection.query(
            "SELECT pg_advisory_xact_lock(hashtextextended(\(queue + "/" + uniqueness.key), 0))", logger: logger
        ).collect()
        let since = uniqueness.since == .distantPast ? -Double.greatestFiniteMagnitude : uniqueness.since.timeIntervalSince1970
        return try await fetchJobs(
            connection,
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(jobColumns) FROM jobs
                    WHERE queue = $1 AND unique_key = $2 AND created_at >= $3 AND status IN (\(uniqueness.matchingStatusesSQL))
                    ORDER BY created_at LIMIT 1
                    """,
                binds: {
                    var binds = PostgresBindings()
                    binds.append(queue)
                    binds.append(uniqueness.key)
                    binds.append(since)
                    return binds
                }()), logger: logger
        ).first?.job
    }

    /// Moves up to `limit` of the oldest queued jobs of `queue` whose task is in `tasks` to
    /// running, leased to `hostID`, in one statement.
    ///
    /// The jobs are found per task (``PostgresClaimQuery``), so the claim costs the same
    /// whatever other tasks' backlog sits ahead of them. `FOR UPDATE SKIP LOCKED` makes
    /// concurrent claims (other managers) pass over the rows one is taking instead of waiting
    /// for them or taking them too. The last error of an earlier attempt is kept until the job
    /// finishes again. Returns the jobs in enqueue (FIFO) order.
    public func claim(
        queue: String, tasks: Set<String>, hostID: String, limit: Int, leaseDuration: TimeInterval, now: Date, limits: [String: TaskClaimLimit]
    ) async throws -> [ClaimedRun] {
        try await claimJobs(queue: queue, tasks: tasks, hostID: hostID, limit: limit, leaseDuration: leaseDuration, now: now, limits: limits)
            .map(ClaimedRun.init)
    }

    /// ``claim(queue:tasks:hostID:limit:leaseDuration:now:limits:)``, the jobs read whole.
    private func claimJobs(
        queue: String, tasks: Set<String>, hostID: String, limit: Int, leaseDuration: TimeInterval, now: Date, limits: [String: TaskClaimLimit]
    ) async throws -> [Job] {
        guard !tasks.isEmpty, limit > 0 else { return [] }
        let limits = limits.filter { tasks.contains($0.key) }
        guard !limits.isEmpty else {
            return try await withConnection("claim jobs", context: ["queue": queue, "host_id": hostID]) { connection in
                // Its own statement before the claim: the claim's snapshot must see the promoted rows.
                try await Self.promote(queue: queue, now: now, connection, logger: self.logger)
                return Self.ordered(
                    try await Self.fetchJobs(
                        connection,
                        Self.claimQuery(
                            queue: queue, tasks: tasks, hostID: hostID, limit: limit, leaseDuration: leaseDuration, now: now, taskLimits: [:]),
                        logger: self.logger))
            }
        }
        _ = try await withConnection("queue scheduled jobs", context: ["queue": queue]) { connection in
            try await Self.promote(queue: queue, now: now, connection, logger: self.logger)
        }
        return try await transaction("claim jobs", context: ["queue": queue, "host_id": hostID]) { connection in
            try await claimInTransaction(
                QueueClaim(queue: queue, tasks: tasks, limit: limit, limits: limits), hostID: hostID, leaseDuration: leaseDuration, now: now,
                promote: false, connection)
        }
    }

    /// A claim inside a transaction (a limited task's claim, or a report's that claims).
    ///
    /// A limited task's count and claim hold its advisory lock: managers claiming it take turns
    /// (in one order, so two never wait on each other), and every other task is claimed freely.
    /// `promote` queues the queue's due scheduled jobs first, in the same transaction (its later
    /// statements see its own changes).
    func claimInTransaction(
        _ part: QueueClaim, hostID: String, leaseDuration: TimeInterval, now: Date, promote: Bool, _ connection: PostgresConnection
    ) async throws -> [Job] {
        let (queue, tasks, limit) = (part.queue, part.tasks, part.limit)
        guard !tasks.isEmpty, limit > 0 else { return [] }
        let limits = part.limits.filter { tasks.contains($0.key) }
        if promote { try await Self.promote(queue: queue, now: now, connection, logger: self.logger) }
        var served = tasks
        var taskLimits: [String: Int] = [:]
        for (task, taskLimit) in limits.sorted(by: { $0.key < $1.key }) {
            _ = try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\("limit/" + queue + "/" + task), 0))", logger: self.logger
            ).collect()
            var running = 0
            if taskLimit.concurrency != nil {
                let rows = try await connection.query(
                    "SELECT COUNT(*) AS running FROM jobs WHERE status = 'running' AND queue = \(queue) AND task = \(task)", logger: self.logger
                ).collect()
                running = try rows.first.map { try Columns($0)["running"] } ?? 0
            }
            var started = 0
            if let window = taskLimit.window(at: now) {
                let rows = try await connection.query(
                    "SELECT count FROM task_rates WHERE queue = \(queue) AND task = \(task) AND window_start = \(window)", logger: self.logger
                ).collect()
                started = try rows.first.map { try Columns($0)["count"] } ?? 0
            }
            let allowed = taskLimit.allowance(running: running, started: started)
            if allowed == 0 { served.remove(task) } else { taskLimits[task] = allowed }
        }
        guard !served.isEmpty else { return [] }
        let claimed = Self.ordered(
            try await Self.fetchJobs(
                connection,
                Self.claimQuery(
                    queue: queue, tasks: served, hostID: hostID, limit: limit, leaseDuration: leaseDuration, now: now, taskLimits: taskLimits),
                logger: self.logger))
        for (task, taskLimit) in limits {
            guard let window = taskLimit.window(at: now) else { continue }
            let count = claimed.count { $0.task == task }
            guard count > 0 else { continue }
            _ = try await connection.query(
                """
                INSERT INTO task_rates (queue, task, window_start, count) VALUES (\(queue), \(task), \(window), \(count))
                ON CONFLICT (queue, task) DO UPDATE SET
                    count = CASE WHEN task_rates.window_start = excluded.window_start THEN task_rates.count + excluded.count ELSE excluded.count END,
                    window_start = excluded.window_start
                """, logger: self.logger
            ).collect()
        }
        return claimed
    }

    /// The claim's `UPDATE … RETURNING` over the selection of ``PostgresClaimQuery``.
    static func claimQuery(
        queue: String, tasks: Set<String>, hostID: String, limit: Int, leaseDuration: TimeInterval, now: Date, taskLimits: [String: Int]
    ) -> PostgresQuery {
        var binds = PostgresBindings()
        binds.append(hostID)
        binds.append(now.addingTimeInterval(leaseDuration).timeIntervalSince1970)
        binds.append(now.timeIntervalSince1970)
        let selection = PostgresClaimQuery(queue: queue, tasks: tasks, limit: limit, now: now, binds: &binds, taskLimits: taskLimits)
        return PostgresQuery(
            unsafeSQL: """
                UPDATE jobs
                SET status = 'running', host_id = $1, lease_expires_at = $2, started_at = $3, attempts = attempts + 1, lease = lease + 1,
                    progress = NULL, progress_message = NULL
                WHERE seq IN (\(selection.sql))
                RETURNING \(Self.jobColumns)
                """, binds: binds)
    }

    /// RETURNING gives rows in no defined order; the claim's order is restored.
    static func ordered(_ rows: [(seq: Int, job: Job)]) -> [Job] {
        rows.sorted { ($0.job.priority, -$0.seq) > ($1.job.priority, -$1.seq) }.map(\.job)
    }

    @discardableResult
    public func promoteScheduled(queue: String?, now: Date) async throws -> Int {
        try await withConnection("queue scheduled jobs", context: ["queue": queue ?? "*"]) { connection in
            let queues = try await Self.promote(queue: queue, now: now, connection, logger: self.logger)
            try await Self.notify(queues.map(StoreEvent.workArrived), connection, logger: self.logger)
            return queues.count
        }
    }

    /// Queues the scheduled jobs whose time came, read from `jobs_scheduled`; returns the queues
    /// of the jobs it queued (one entry per job).
    @discardableResult
    static func promote(queue: String?, now: Date, _ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let query: PostgresQuery =
            if let queue {
                "UPDATE jobs SET status = 'queued' WHERE queue = \(queue) AND status = 'scheduled' AND run_at <= \(now.timeIntervalSince1970) RETURNING queue"
            } else {
                "UPDATE jobs SET status = 'queued' WHERE status = 'scheduled' AND run_at <= \(now.timeIntervalSince1970) RETURNING queue"
            }
        return try await connection.query(query, logger: logger).collect().map { try Columns($0)["queue"] }
    }

    public func release(hostID: String, jobs: [LeasedJob]?) async throws -> [Job] {
        let update = """
            UPDATE jobs SET status = 'queued', host_id = NULL, lease_expires_at = NULL, started_at = NULL, attempts = GREATEST(attempts - 1, 0)
            WHERE host_id = $1 AND status = 'running'
            """
        return try await transaction("release a host's jobs", context: ["host_id": hostID]) { connection in
            guard let jobs else {
                var binds = PostgresBindings()
                binds.append(hostID)
                let query = PostgresQuery(unsafeSQL: update + " RETURNING \(Self.jobColumns)", binds: binds)
                let released = try await Self.fetchJobs(connection, query, logger: self.logger).sorted { $0.seq < $1.seq }.map(\.job)
                try await Self.notify(Set(released.map(\.queue)).map(StoreEvent.workArrived), connection, logger: self.logger)
                return released
            }
            var released: [Job] = []
            for leased in jobs {
                var binds = PostgresBindings()
                binds.append(hostID)
                binds.append(leased.jobID)
                binds.append(leased.lease)
                let query = PostgresQuery(unsafeSQL: update + " AND id = $2 AND lease = $3 RETURNING \(Self.jobColumns)", binds: binds)
                released += try await Self.fetchJobs(connection, query, logger: self.logger).map(\.job)
            }
            try await Self.notify(Set(released.map(\.queue)).map(StoreEvent.workArrived), connection, logger: self.logger)
            return released
        }
    }

    /// Returns the renewed leases in the order they were given.
    public func renewLeases(hostID: String, jobs: [LeasedJob], until: Date) async throws -> [LeasedJob] {
        guard !jobs.isEmpty else { return [] }
        let query: PostgresQuery = """
            UPDATE jobs SET lease_expires_at = \(until.timeIntervalSince1970)
            FROM unnest(\(jobs.map(\.jobID)), \(jobs.map(\.lease))) AS leased(id, lease)
            WHERE jobs.id = leased.id AND jobs.lease = leased.lease AND jobs.host_id = \(hostID) AND jobs.status = 'running'
            RETURNING jobs.id, jobs.lease
            """
        let rows = try await self.query("renew leases", context: ["host_id": hostID], query)
        var renewed: Set<LeasedJob> = []
        for row in rows {
            let columns = Columns(row)
            renewed.insert(LeasedJob(jobID: try columns["id"], lease: try columns["lease"]))
        }
        return jobs.filter(renewed.contains)
    }

    public func releaseReady(jobID: String?) async throws -> [Job] {
        // One statement: the check that every dependency completed and the release are atomic.
        let query: PostgresQuery =
            if let jobID {
                "UPDATE jobs SET status = 'queued' WHERE id = \(jobID) AND \(unescaped: Self.readyToRelease) RETURNING \(unescaped: Self.jobColumns)"
            } else {
                "UPDATE jobs SET status = 'queued' WHERE \(unescaped: Self.readyToRelease) RETURNING \(unescaped: Self.jobColumns)"
            }
        return try await withConnection("release ready jobs", context: ["job_id": jobID ?? "*"]) { connection in
            let released = try await Self.fetchJobs(connection, query, logger: self.logger).sorted { $0.seq < $1.seq }.map(\.job)
            // The update committed on its own: the events go out at once.
            try await Self.notify(Set(released.map(\.queue)).map(StoreEvent.workArrived), connection, logger: self.logger)
            return released
        }
    }

    public func setProgress(jobID: String, lease: Int, hostID: String, fraction: Double, message: String?) async throws -> Bool {
        let rows = try await query(
            "record progress", context: ["job_id": jobID],
            """
            UPDATE jobs SET progress = \(fraction), progress_message = \(message.map(Self.text))
            WHERE id = \(jobID) AND lease = \(lease) AND host_id = \(hostID) AND status = 'running' RETURNING id
            """)
        return rows.count == 1
    }

    public func cancelRequested(hostID: String) async throws -> [String] {
        let rows = try await query(
            "read cancellations", context: ["host_id": hostID],
            "SELECT id FROM jobs WHERE host_id = \(hostID) AND status = 'running' AND cancel_requested ORDER BY seq")
        return try rows.map { try Columns($0)["id"] }
    }

    public func children(of parentID: String) async throws -> [Job] {
        try await withConnection("list a job's children", context: ["job_id": parentID]) { connection in
            try await Self.fetchJobs(
                connection, "SELECT \(unescaped: Self.jobColumns) FROM jobs WHERE parent_id = \(parentID) ORDER BY seq", logger: self.logger
            ).map(\.job)
        }
    }

    public func dependencyResults(of jobIDs: [String]) async throws -> [String: [String: JSONValue]] {
        guard !jobIDs.isEmpty else { return [:] }
        let rows = try await query(
            "read dependency results",
            """
            SELECT parent_id, task, result FROM jobs
            WHERE parent_id = ANY(\(jobIDs)) AND origin = 'run_before' AND status = 'completed'
            """)
        var results: [String: [String: JSONValue]] = [:]
        for row in rows {
            let columns = Columns(row)
            let parent: String = try columns["parent_id"]
            let text: String? = try columns["result"]
            results[parent, default: [:]][try columns["task"]] = try text.map(JSONValue.parse) ?? .null
        }
        return results
    }

    public func job(id: String) async throws -> Job? {
        try await withConnection("read a job", context: ["job_id": id]) { connection in
            try await Self.fetchJobs(connection, "SELECT \(unescaped: Self.jobColumns) FROM jobs WHERE id = \(id)", logger: self.logger).first?.job
        }
    }

    /// Sets `pulledAt` on a finished job the first time it is pulled; of concurrent pulls,
    /// exactly one is `first` (the others wait for its row lock, then find `pulled_at` set).
    public func pull(id: String, now: Date) async throws -> (job: Job, first: Bool)? {
        try await withConnection("pull a job", context: ["job_id": id]) { connection -> (job: Job, first: Bool)? in
            if let pulled = try await Self.fetchJobs(
                connection,
                """
                UPDATE jobs SET pulled_at = \(now.timeIntervalSince1970)
                WHERE id = \(id) AND status IN ('completed', 'failed', 'cancelled', 'expired') AND pulled_at IS NULL
                RETURNING \(unescaped: Self.jobColumns)
                """, logger: self.logger
            ).first {
                return (pulled.job, true)
            }
            return try await Self.fetchJobs(connection, "SELECT \(unescaped: Self.jobColumns) FROM jobs WHERE id = \(id)", logger: self.logger)
                .first.map { ($0.job, false) }
        }
    }

    /// Newest first. An empty `statuses` set matches nothing; a negative limit counts as 0.
    public func jobs(_ filter: JobFilter) async throws -> [Job] {
        var conditions: [String] = []
        var binds = PostgresBindings()
        func parameter() -> String { "$\(binds.count)" }
        if let queue = filter.queue {
            binds.append(queue)
            conditions.append("queue = \(parameter())")
        }
        if let task = filter.task {
            binds.append(task)
            conditions.append("task = \(parameter())")
        }
        if let statuses = filter.statuses {
            guard !statuses.isEmpty else { return [] }
            binds.append(statuses.map(\.rawValue).sorted())
            conditions.append("status = ANY(\(parameter()))")
        }
        if filter.excludePulled {
            conditions.append("pulled_at IS NULL")
        }
        if let since = filter.since {
            binds.append(since.timeIntervalSince1970)
            conditions.append("created_at >= \(parameter())")
        }
        binds.append(max(0, filter.limit))
        let limit = parameter()
        binds.append(max(0, filter.offset))
        let offset = parameter()
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let query = PostgresQuery(
            unsafeSQL: "SELECT \(Self.jobColumns) FROM jobs \(whereClause) ORDER BY seq DESC LIMIT \(limit) OFFSET \(offset)", binds: binds)
        return try await withConnection("list jobs") { connection in
            try await Self.fetchJobs(connection, query, logger: self.logger).map(\.job)
        }
    }

    public func counts(queue: String?, statuses: Set<JobStatus>?) async throws -> [JobStatus: Int] {
        var conditions: [String] = []
        var binds = PostgresBindings()
        if let queue {
            binds.append(queue)
            conditions.append("queue = $\(binds.count)")
        }
        if let statuses {
            guard !statuses.isEmpty else { return [:] }
            binds.append(statuses.map(\.rawValue).sorted())
            conditions.append("status = ANY($\(binds.count))")
        }
        let query = PostgresQuery(
            unsafeSQL:
                "SELECT status, COUNT(*) AS count FROM jobs \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) GROUP BY status",
            binds: binds)
        var counts: [JobStatus: Int] = [:]
        for row in try await self.query("count jobs", context: ["queue": queue ?? "*"], query) {
            let columns = Columns(row)
            if let status = JobStatus(rawValue: try columns["status"]) { counts[status] = try columns["count"] }
        }
        return counts
    }

    public func finishedCounts(since: Date) async throws -> [String: [JobStatus: Int]] {
        var counts: [String: [JobStatus: Int]] = [:]
        // jobs_finished (finished_at) finds the rows.
        for row in try await query(
            "count recent jobs",
            "SELECT queue, status, COUNT(*) AS count FROM jobs WHERE finished_at >= \(since.timeIntervalSince1970) GROUP BY queue, status")
        {
            let columns = Columns(row)
            if let status = JobStatus(rawValue: try columns["status"]) { counts[try columns["queue"], default: [:]][status] = try columns["count"] }
        }
        return counts
    }

    public func discard(jobID: String) async throws -> Bool {
        try await transaction("discard a job", context: ["job_id": jobID]) { connection in
            let deleted = try await connection.query(
                "DELETE FROM jobs WHERE id = \(jobID) AND status IN ('completed', 'failed', 'cancelled', 'expired') RETURNING id", logger: self.logger
            ).collect()
            guard !deleted.isEmpty else { return false }
            _ = try await connection.query("DELETE FROM job_logs WHERE job_id = \(jobID)", logger: self.logger).collect()
            return true
        }
    }
}
