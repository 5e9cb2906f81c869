import EasyJobsCore
import Foundation
import GRDB

/// The operations that end runs. Each records the end and everything it causes (a retry,
/// successors, failure handlers, a parent released or failed) in one write transaction.
extension SQLiteJobStore {
    public func finish(_ reports: [JobReport], hostID: String, now: Date, rules: any JobRules) async throws -> JobTransitions {
        guard !reports.isEmpty else { return JobTransitions() }
        return try await write("record job outcomes", context: ["host_id": hostID, "count": "\(reports.count)"]) { db in
            try self.recordEnds(reports, hostID: hostID, now: now, rules: rules, db)
        }
    }

    public func finish(
        _ reports: [JobReport], hostID: String, now: Date, rules: any JobRules, thenClaim claims: [QueueClaim], leaseDuration: TimeInterval
    ) async throws -> (transitions: JobTransitions, claimed: [[ClaimedRun]]) {
        guard !reports.isEmpty || !claims.isEmpty else { return (JobTransitions(), []) }
        return try await write("record job outcomes and claim", context: ["host_id": hostID, "count": "\(reports.count)"]) { db in
            let transitions = try self.recordEnds(reports, hostID: hostID, now: now, rules: rules, db)
            let claimed = try claims.map { try Self.claim($0, hostID: hostID, leaseDuration: leaseDuration, now: now, db) }
            return (transitions, claimed)
        }
    }

    /// The ends of ``finish(_:hostID:now:rules:)``, inside a write transaction.
    private func recordEnds(_ reports: [JobReport], hostID: String, now: Date, rules: any JobRules, _ db: Database) throws -> JobTransitions {
        var transitions = JobTransitions()
        // Runs that ended without failing need no decision about a retry: the fenced update is
        // the check and the end at once, and consecutive ones share one statement. A failed run
        // ends the batch before it, so the ends are applied in the order they were reported.
        var ends: [JobReport] = []
        for report in reports {
            if case .failed(let message) = report.outcome {
                try endFenced(ends, hostID: hostID, now: now, rules: rules, db, &transitions)
                ends.removeAll(keepingCapacity: true)
                let fenced = try db.cachedStatement(
                    sql: """
                        SELECT \(Self.jobColumns) FROM jobs WHERE id = ? AND lease = ? AND host_id = ? AND status = 'running'
                        """)
                guard let running = try Self.fetchJobs(fenced, arguments: [report.jobID, report.lease, hostID]).first?.job else {
                    transitions.rejected.append(report.jobID)
                    continue
                }
                var failed = running
                failed.error = message
                if let delay = rules.retryDelay(for: failed) {
                    transitions.retried.append(
                        try requeue(running, error: message, plugin: report.plugin, runAt: now.addingTimeInterval(delay), db))
                } else {
                    try end(running, as: .failed, result: nil, error: message, plugin: report.plugin, now: now, rules: rules, db, &transitions)
                }
            } else {
                ends.append(report)
            }
        }
        try endFenced(ends, hostID: hostID, now: now, rules: rules, db, &transitions)
        return transitions
    }

    public func requeueExpired(now: Date, rules: any JobRules) async throws -> JobTransitions {
        try await write("requeue expired jobs") { db in
            var transitions = JobTransitions()
            let expired = try Self.fetchJobs(db, sql: Self.lapsedSelection, arguments: [now.timeIntervalSince1970]).map(\.job)
            for job in expired {
                if job.cancelRequested {
                    try end(
                        job, as: .cancelled, result: nil, error: "cancelled: its host stopped answering", plugin: nil, now: now, rules: rules, db,
                        &transitions)
                    continue
                }
                var lost = job
                lost.lostLeases += 1
                try db.execute(sql: "UPDATE jobs SET lost_leases = lost_leases + 1 WHERE id = ?", arguments: [job.id])
                let times = lost.lostLeases == 1 ? "once" : "\(lost.lostLeases) times"
                if let delay = rules.retryDelay(for: lost) {
                    transitions.retried.append(
                        try requeue(
                            lost, error: "its host stopped renewing the lease while running it (\(times))", plugin: nil,
                            runAt: now.addingTimeInterval(delay), db))
                } else {
                    try end(
                        lost, as: .failed, result: nil, error: "host died while running it (\(times))", plugin: nil, now: now, rules: rules, db,
                        &transitions)
                }
            }
            return transitions
        }
    }

    public func expireOverdue(now: Date, rules: any JobRules) async throws -> JobTransitions {
        try await write("expire overdue jobs") { db in
            var transitions = JobTransitions()
            let overdue = try Self.fetchJobs(db, sql: Self.overdueSelection, arguments: [now.timeIntervalSince1970]).map(\.job)
            for job in overdue {
                try end(job, as: .expired, result: nil, error: job.expiryReason, plugin: nil, now: now, rules: rules, db, &transitions)
            }
            return transitions
        }
    }

    /// The runs whose lease lapsed, oldest first, from the index of running jobs' leases.
    static let lapsedSelection = """
        SELECT \(jobColumns) FROM jobs INDEXED BY jobs_lease_expiry WHERE status = 'running' AND lease_expires_at < ? ORDER BY seq
        """

    /// The jobs past their deadline, oldest first. `INDEXED BY` because without statistics
    /// SQLite chose `jobs_status` for the status list and walked every queued job (100,000 queued:
    /// 9–19 ms on the writer at each pass); the status list is spelled as `jobs_expiry`'s
    /// condition is, which the partial index needs, and SQLite refuses the query if it ever
    /// stops matching.
    static let overdueSelection = """
        SELECT \(jobColumns) FROM jobs INDEXED BY jobs_expiry
        WHERE status IN ('waiting', 'scheduled', 'queued') AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY seq
        """

    public func cancel(jobID: String, now: Date, rules: any JobRules) async throws -> (job: Job, transitions: JobTransitions)? {
        try await write("cancel a job", context: ["job_id": jobID]) { db in
            var transitions = JobTransitions()
            guard let job = try Self.fetchJobs(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", arguments: [jobID]).first?.job else {
                return nil
            }
            switch job.status {
            case .queued, .waiting, .scheduled:
                try end(job, as: .cancelled, result: nil, error: "cancelled before it ran", plugin: nil, now: now, rules: rules, db, &transitions)
                return (transitions.finished[0], transitions)
            case .running:
                let running = try Self.fetchJobs(
                    db,
                    sql: """
                        UPDATE jobs SET cancel_requested = 1 WHERE id = ? RETURNING \(Self.jobColumns)
                        """, arguments: [jobID]
                ).first?.job
                return (running ?? job, transitions)
            default:
                return (job, transitions)
            }
        }
    }

    /// Queues a run's job again for its next try.
    private func requeue(_ job: Job, error: String, plugin: PluginRef?, runAt: Date, _ db: Database) throws -> Job {
        let updated = try Self.fetchJobs(
            db,
            sql: """
                UPDATE jobs SET status = 'queued', error = ?, run_at = ?, host_id = NULL, lease_expires_at = NULL,
                    plugin_name = COALESCE(?, plugin_name), plugin_version = COALESCE(?, plugin_version), plugin_sha256 = COALESCE(?, plugin_sha256)
                WHERE id = ? RETURNING \(Self.jobColumns)
                """, arguments: [error, runAt.timeIntervalSince1970, plugin?.name, plugin?.version, plugin?.sha256, job.id])
        return updated.first?.job ?? job
    }

    /// Ends the completed and cancelled runs of `reports` that this host still holds under
    /// the lease each names, and applies what follows each; a run it no longer holds is refused.
    ///
    /// One `UPDATE … FROM` a chunk of up to 64 reports rather than one statement a report: the
    /// row cursor of each statement alone (GRDB builds a dictionary of the 30 column names for
    /// it) was 3 % of the manager's time in a batched run. Chunks are padded to a power of two
    /// with rows that match no job, so a handful of cached statements serve every batch size.
    private func endFenced(
        _ reports: [JobReport], hostID: String, now: Date, rules: any JobRules, _ db: Database, _ transitions: inout JobTransitions
    ) throws {
        var start = 0
        while start < reports.count {
            let chunk = reports[start..<min(start + Self.endChunk, reports.count)]
            start = chunk.endIndex
            var size = 1
            while size < chunk.count { size *= 2 }
            var arguments: [(any DatabaseValueConvertible)?] = []
            arguments.reserveCapacity(size * 8 + 2)
            // Only a job's first report in the chunk goes in: of two rows for one job an
            // `UPDATE … FROM` applies either, and the first report is the one that counts.
            var included = Set<String>()
            for report in chunk where included.insert(report.jobID).inserted {
                let (status, result, error): (JobStatus, JSONValue?, String?) =
                    switch report.outcome {
                    case .completed(let value): (.completed, value, nil)
                    case .cancelled(let message): (.cancelled, nil, message)
                    case .failed(let message): (.failed, nil, message)
                    }
                arguments += [
                    report.jobID, report.lease, status.rawValue, result.map { String(decoding: $0.encoded(), as: UTF8.self) }, error,
                    report.plugin?.name, report.plugin?.version, report.plugin?.sha256,
                ]
            }
            arguments += Array(repeating: nil, count: (size - included.count) * 8)
            arguments += [now.timeIntervalSince1970, hostID]
            let statement = try db.cachedStatement(sql: Self.endFencedSQL(rows: size))
            var ended: [String: Job] = [:]
            for (_, job) in try Self.fetchJobs(statement, arguments: StatementArguments(arguments)) {
                ended[job.id] = job
            }
            for report in chunk {
                // A job reported twice in one batch ends once; the second report is refused.
                guard let job = ended.removeValue(forKey: report.jobID) else {
                    transitions.rejected.append(report.jobID)
                    continue
                }
                try followUp(job, now: now, rules: rules, db, &transitions)
            }
        }
    }

    /// The most reports one fenced end statement takes.
    static let endChunk = 64

    /// The fenced end of `rows` reports: each row of `r` is (id, lease, status, result, error,
    /// plugin name, version, sha256); the last two arguments are the time and the host.
    static func endFencedSQL(rows: Int) -> String {
        let values = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", ")
        // The end clears any error of earlier attempts on success and keeps the host id, so a
        // finished job still says where it ran.
        return """
            WITH r(r_id, r_lease, r_status, r_result, r_error, r_plugin_name, r_plugin_version, r_plugin_sha256) AS (VALUES \(values))
            UPDATE jobs
            SET status = r_status, result = r_result, error = r_error, finished_at = ?, lease_expires_at = NULL,
                plugin_name = COALESCE(r_plugin_name, plugin_name), plugin_version = COALESCE(r_plugin_version, plugin_version),
                plugin_sha256 = COALESCE(r_plugin_sha256, plugin_sha256)
            FROM r
            WHERE jobs.id = r_id AND jobs.lease = r_lease AND jobs.host_id = ? AND jobs.status = 'running'
            RETURNING \(jobColumns)
            """
    }

    /// Ends `job` with `status` and applies what follows, breadth first: successors and
    /// failure handlers from `rules`, the release or failure of a waiting `run_before` parent,
    /// which may end in turn.
    private func end(
        _ job: Job, as status: JobStatus, result: JSONValue?, error: String?, plugin: PluginRef?, now: Date, rules: any JobRules,
        _ db: Database, _ transitions: inout JobTransitions
    ) throws {
        // A completed run clears the error of earlier attempts; a failed one clears any result.
        // The host id stays, so a finished job still says where it ran.
        let ended = try Self.fetchJobs(
            db,
            sql: """
                UPDATE jobs
                SET status = ?, result = ?, error = ?, finished_at = ?, lease_expires_at = NULL,
                    plugin_name = COALESCE(?, plugin_name), plugin_version = COALESCE(?, plugin_version), plugin_sha256 = COALESCE(?, plugin_sha256)
                WHERE id = ? RETURNING \(Self.jobColumns)
                """,
            arguments: [
                status.rawValue, result.map { String(decoding: $0.encoded(), as: UTF8.self) }, error, now.timeIntervalSince1970,
                plugin?.name, plugin?.version, plugin?.sha256, job.id,
            ]
        ).first?.job
        guard let ended else { return }
        try followUp(ended, now: now, rules: rules, db, &transitions)
    }

    /// What follows a job's end: its run_after and on_failure jobs, and its parent's release or
    /// failure, and theirs in turn.
    private func followUp(_ ended: Job, now: Date, rules: any JobRules, _ db: Database, _ transitions: inout JobTransitions) throws {
        var pending = [ended]
        while !pending.isEmpty {
            let job = pending.removeFirst()
            transitions.finished.append(job)
            if let url = job.webhookURL {
                // In the transaction that ends the job: an end is never committed without its delivery.
                try db.cachedStatement(sql: "INSERT INTO webhook_deliveries (job_id, url, created_at, next_at) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [job.id, url, now.timeIntervalSince1970, now.timeIntervalSince1970])
                transitions.webhooks += 1
            }
            if job.status != .cancelled && job.status != .expired {
                let created = rules.followUps(of: job)
                if !created.isEmpty {
                    try Self.insert(Self.rows(created), db)
                    for new in created.map(\.job) {
                        if new.status == .failed { pending.append(new) } else { transitions.created.append(new) }
                    }
                }
            }
            guard job.origin.kind == .runBefore, let parent = job.origin.parentID else { continue }
            if job.status == .completed {
                transitions.released += try Self.fetchJobs(
                    db,
                    sql: """
                        UPDATE jobs SET status = 'queued' WHERE id = ? AND \(Self.readyToRelease) RETURNING \(Self.jobColumns)
                        """, arguments: [parent]
                ).map(\.job)
            } else {
                let reason =
                    job.status == .cancelled || job.status == .expired
                    ? "run_before task '\(job.task)' (job \(job.id)) was \(job.status.rawValue)"
                    : "run_before task '\(job.task)' (job \(job.id)) failed: \(job.error ?? "unknown error")"
                pending += try Self.fetchJobs(
                    db,
                    sql: """
                        UPDATE jobs SET status = 'failed', error = ?, finished_at = ?
                        WHERE id = ? AND status = 'waiting' RETURNING \(Self.jobColumns)
                        """, arguments: [reason, now.timeIntervalSince1970, parent]
                ).map(\.job)
            }
        }
    }

    /// A waiting job all of whose `run_before` jobs completed.
    static let readyToRelease = """
        status = 'waiting' AND NOT EXISTS (
            SELECT 1 FROM jobs AS dependency
            WHERE dependency.parent_id = jobs.id AND dependency.origin = 'run_before' AND dependency.status != 'completed')
        """
}
