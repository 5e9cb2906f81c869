import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging
import PostgresNIO

/// The operations that end runs. Each records the end and everything it causes (a retry,
/// successors, failure handlers, a parent released or failed) in one transaction.
///
/// Unlike SQLite, PostgreSQL runs several writers at once, so each operation locks the rows it
/// changes (`FOR UPDATE`) before deciding anything: a second manager ending the same job waits,
/// then finds it no longer running. Under READ COMMITTED every statement sees what committed
/// before it began, which the parent release below relies on.
extension PostgresJobStore {
    public func finish(_ reports: [JobReport], hostID: String, now: Date, rules: any JobRules) async throws -> JobTransitions {
        guard !reports.isEmpty else { return JobTransitions() }
        return try await transaction("record job outcomes", context: ["host_id": hostID, "count": "\(reports.count)"]) { connection in
            let transitions = try await recordEnds(reports, hostID: hostID, now: now, rules: rules, connection)
            try await Self.notify(Self.events(of: transitions), connection, logger: self.logger)
            return transitions
        }
    }

    public func finish(
        _ reports: [JobReport], hostID: String, now: Date, rules: any JobRules, thenClaim claims: [QueueClaim], leaseDuration: TimeInterval
    ) async throws -> (transitions: JobTransitions, claimed: [[ClaimedRun]]) {
        guard !reports.isEmpty || !claims.isEmpty else { return (JobTransitions(), []) }
        return try await transaction("record job outcomes and claim", context: ["host_id": hostID, "count": "\(reports.count)"]) { connection in
            let transitions = try await recordEnds(reports, hostID: hostID, now: now, rules: rules, connection)
            var claimed: [[ClaimedRun]] = []
            for part in claims {
                claimed.append(
                    try await claimInTransaction(part, hostID: hostID, leaseDuration: leaseDuration, now: now, promote: true, connection)
                        .map(ClaimedRun.init))
            }
            // Other managers hear only of the work this transaction did not claim itself.
            try await Self.notify(Self.events(of: transitions, taken: Set(claimed.joined().map(\.id))), connection, logger: self.logger)
            return (transitions, claimed)
        }
    }

    /// The ends of ``finish(_:hostID:now:rules:)``, inside its transaction.
    private func recordEnds(
        _ reports: [JobReport], hostID: String, now: Date, rules: any JobRules, _ connection: PostgresConnection
    ) async throws -> JobTransitions {
        var transitions = JobTransitions()
        // One statement locks every reported job the host runs, in id order: two managers
        // ending overlapping sets of jobs then take the locks in the same order and never
        // deadlock on them.
        var held: [String: Job] = [:]
        for (_, job) in try await Self.fetchJobs(
            connection,
            """
            SELECT \(unescaped: Self.jobColumns) FROM jobs
            WHERE id = ANY(\(Array(Set(reports.map(\.jobID))))) AND host_id = \(hostID) AND status = 'running'
            ORDER BY id
            FOR UPDATE
            """, logger: self.logger)
        {
            held[job.id] = job
        }
        // Runs that end for good are ended together, one statement for a row of them; a failed
        // run that its rules retry ends that row first, so ends apply in the order they were
        // reported.
        var ends: [(job: Job, report: JobReport)] = []
        for report in reports {
            // Taken out once used: a second report of one run in the same call finds it ended.
            guard let running = held[report.jobID], running.lease == report.lease else {
                transitions.rejected.append(report.jobID)
                continue
            }
            held[report.jobID] = nil
            if case .failed(let message) = report.outcome {
                var failed = running
                failed.error = message
                if let delay = rules.retryDelay(for: failed) {
                    try await endHeld(ends, now: now, rules: rules, connection, &transitions)
                    ends.removeAll(keepingCapacity: true)
                    transitions.retried.append(
                        try await requeue(running, error: message, plugin: report.plugin, runAt: now.addingTimeInterval(delay), connection))
                    continue
                }
            }
            ends.append((running, report))
        }
        try await endHeld(ends, now: now, rules: rules, connection, &transitions)
        return transitions
    }

    public func requeueExpired(now: Date, rules: any JobRules) async throws -> JobTransitions {
        try await transaction("requeue expired jobs") { connection in
            var transitions = JobTransitions()
            // SKIP LOCKED: a job another manager is ending or sweeping right now is its to handle;
            // if it is still expired afterwards, the next sweep takes it.
            let expired = try await Self.fetchJobs(
                connection,
                """
                SELECT \(unescaped: Self.jobColumns) FROM jobs
                WHERE status = 'running' AND lease_expires_at < \(now.timeIntervalSince1970)
                ORDER BY seq
                FOR UPDATE SKIP LOCKED
                """, logger: self.logger
            ).map(\.job)
            for job in expired {
                if job.cancelRequested {
                    try await end(
                        job, as: .cancelled, result: nil, error: "cancelled: its host stopped answering", plugin: nil, now: now, rules: rules,
                        connection, &transitions)
                    continue
                }
                var lost = job
                lost.lostLeases += 1
                _ = try await connection.query("UPDATE jobs SET lost_leases = lost_leases + 1 WHERE id = \(job.id)", logger: self.logger).collect()
                let times = lost.lostLeases == 1 ? "once" : "\(lost.lostLeases) times"
                if let delay = rules.retryDelay(for: lost) {
                    transitions.retried.append(
                        try await requeue(
                            lost, error: "its host stopped renewing the lease while running it (\(times))", plugin: nil,
                            runAt: now.addingTimeInterval(delay), connection))
                } else {
                    try await end(
                        lost, as: .failed, result: nil, error: "host died while running it (\(times))", plugin: nil, now: now, rules: rules,
                        connection, &transitions)
                }
            }
            try await Self.notify(Self.events(of: transitions), connection, logger: self.logger)
            return transitions
        }
    }

    public func expireOverdue(now: Date, rules: any JobRules) async throws -> JobTransitions {
        try await transaction("expire overdue jobs") { connection in
            var transitions = JobTransitions()
            // SKIP LOCKED: a job another manager is claiming or sweeping is its to handle; a claim
            // never takes a job past its deadline, so it is still here for the next sweep.
            let overdue = try await Self.fetchJobs(
                connection,
                """
                SELECT \(unescaped: Self.jobColumns) FROM jobs
                WHERE status IN ('waiting', 'scheduled', 'queued') AND expires_at IS NOT NULL AND expires_at <= \(now.timeIntervalSince1970)
                ORDER BY seq FOR UPDATE SKIP LOCKED
                """, logger: self.logger
            ).map(\.job)
            for job in overdue {
                try await end(job, as: .expired, result: nil, error: job.expiryReason, plugin: nil, now: now, rules: rules, connection, &transitions)
            }
            try await Self.notify(Self.events(of: transitions), connection, logger: self.logger)
            return transitions
        }
    }

    public func cancel(jobID: String, now: Date, rules: any JobRules) async throws -> (job: Job, transitions: JobTransitions)? {
        let outcome = try await transaction("cancel a job", context: ["job_id": jobID]) { connection -> Cancellation? in
            var transitions = JobTransitions()
            guard
                let job = try await Self.fetchJobs(
                    connection, "SELECT \(unescaped: Self.jobColumns) FROM jobs WHERE id = \(jobID) FOR UPDATE", logger: self.logger
                ).first?.job
            else {
                return nil
            }
            switch job.status {
            case .queued, .waiting, .scheduled:
                try await end(
                    job, as: .cancelled, result: nil, error: "cancelled before it ran", plugin: nil, now: now, rules: rules, connection, &transitions)
                try await Self.notify(Self.events(of: transitions), connection, logger: self.logger)
                return Cancellation(job: transitions.finished[0], transitions: transitions)
            case .running:
                let running = try await Self.fetchJobs(
                    connection, "UPDATE jobs SET cancel_requested = TRUE WHERE id = \(jobID) RETURNING \(unescaped: Self.jobColumns)",
                    logger: self.logger
                ).first?.job
                if let host = job.hostID { try await Self.notify([.cancelRequested(hostID: host)], connection, logger: self.logger) }
                return Cancellation(job: running ?? job, transitions: transitions)
            default:
                return Cancellation(job: job, transitions: transitions)
            }
        }
        return outcome.map { ($0.job, $0.transitions) }
    }

    /// A cancel's answer as a Sendable struct, which a transaction can return (a tuple cannot).
    private struct Cancellation: Sendable {
        var job: Job
        var transitions: JobTransitions
    }

    /// Queues a run's job again for its next try. The caller holds the job's row lock.
    private func requeue(_ job: Job, error: String, plugin: PluginRef?, runAt: Date, _ connection: PostgresConnection) async throws -> Job {
        let updated = try await Self.fetchJobs(
            connection,
            """
            UPDATE jobs SET status = 'queued', error = \(Self.text(error)), run_at = \(runAt.timeIntervalSince1970), host_id = NULL, lease_expires_at = NULL,
                plugin_name = COALESCE(\(plugin?.name), plugin_name), plugin_version = COALESCE(\(plugin?.version), plugin_version),
                plugin_sha256 = COALESCE(\(plugin?.sha256), plugin_sha256)
            WHERE id = \(job.id) RETURNING \(unescaped: Self.jobColumns)
            """, logger: logger)
        return updated.first?.job ?? job
    }

    /// Ends `job` with `status` and applies what follows, breadth first: successors and
    /// failure handlers from `rules`, the release or failure of a waiting `run_before` parent,
    /// which may end in turn. The caller holds `job`'s row lock.
    private func end(
        _ job: Job, as status: JobStatus, result: JSONValue?, error: String?, plugin: PluginRef?, now: Date, rules: any JobRules,
        _ connection: PostgresConnection, _ transitions: inout JobTransitions
    ) async throws {
        // A completed run clears the error of earlier attempts; a failed one clears any result.
        // The host id stays, so a finished job still says where it ran.
        let resultText = result.map { String(decoding: $0.encoded(), as: UTF8.self) }
        let ended = try await Self.fetchJobs(
            connection,
            """
            UPDATE jobs
            SET status = \(status.rawValue), result = \(resultText), error = \(error.map(Self.text)), finished_at = \(now.timeIntervalSince1970),
                lease_expires_at = NULL,
                plugin_name = COALESCE(\(plugin?.name), plugin_name), plugin_version = COALESCE(\(plugin?.version), plugin_version),
                plugin_sha256 = COALESCE(\(plugin?.sha256), plugin_sha256)
            WHERE id = \(job.id) RETURNING \(unescaped: Self.jobColumns)
            """, logger: logger
        ).first?.job
        guard let ended else { return }
        try await followUp(ended, now: now, rules: rules, connection, &transitions)
    }

    /// Ends runs for good (completed, cancelled, failed with no try left), whose rows the caller
    /// holds locked, in one statement (a round trip a run was most of what ending a report's runs
    /// cost), then applies what follows each, in the order given.
    private func endHeld(
        _ runs: [(job: Job, report: JobReport)], now: Date, rules: any JobRules, _ connection: PostgresConnection,
        _ transitions: inout JobTransitions
    ) async throws {
        guard !runs.isEmpty else { return }
        // The rows as one JSON array: a JSON null is SQL NULL, which arrays of text cannot carry.
        let rows = JSONValue.array(
            runs.map { run in
                let (status, result, error): (JobStatus, JSONValue?, String?) =
                    switch run.report.outcome {
                    case .completed(let value): (.completed, value, nil)
                    case .cancelled(let message): (.cancelled, nil, message)
                    case .failed(let message): (.failed, nil, message)
                    }
                func text(_ value: String?) -> JSONValue { value.map { .string(Self.text($0)) } ?? .null }
                return .object([
                    "id": .string(run.job.id), "status": .string(status.rawValue),
                    "result": text(result.map { String(decoding: $0.encoded(), as: UTF8.self) }), "error": text(error),
                    "plugin_name": text(run.report.plugin?.name), "plugin_version": text(run.report.plugin?.version),
                    "plugin_sha256": text(run.report.plugin?.sha256),
                ])
            })
        var ended: [String: Job] = [:]
        for (_, job) in try await Self.fetchJobs(
            connection,
            """
            UPDATE jobs
            SET status = r.status, result = r.result, error = r.error, finished_at = \(now.timeIntervalSince1970), lease_expires_at = NULL,
                plugin_name = COALESCE(r.plugin_name, jobs.plugin_name), plugin_version = COALESCE(r.plugin_version, jobs.plugin_version),
                plugin_sha256 = COALESCE(r.plugin_sha256, jobs.plugin_sha256)
            FROM jsonb_to_recordset(\(String(decoding: rows.encoded(), as: UTF8.self))::jsonb)
                AS r(id text, status text, result text, error text, plugin_name text, plugin_version text, plugin_sha256 text)
            WHERE jobs.id = r.id
            RETURNING \(unescaped: Self.qualifiedJobColumns)
            """, logger: logger)
        {
            ended[job.id] = job
        }
        for run in runs {
            guard let job = ended.removeValue(forKey: run.job.id) else { continue }
            try await followUp(job, now: now, rules: rules, connection, &transitions)
        }
    }

    /// ``jobColumns`` of the `jobs` table by name, for a statement that joins another row source.
    static let qualifiedJobColumns = jobColumns.split(separator: ",").map { "jobs." + $0.trimmingWhitespace }.joined(separator: ", ")

    /// What follows the end of `ended`, breadth first: successors and failure handlers from
    /// `rules`, the release or failure of a waiting `run_before` parent, which may end in turn.
    private func followUp(
        _ ended: Job, now: Date, rules: any JobRules, _ connection: PostgresConnection, _ transitions: inout JobTransitions
    ) async throws {
        var pending = [ended]
        while !pending.isEmpty {
            let job = pending.removeFirst()
            transitions.finished.append(job)
            if let url = job.webhookURL {
                // In the transaction that ends the job: an end is never committed without its delivery.
                let now = now.timeIntervalSince1970
                _ = try await connection.query(
                    "INSERT INTO webhook_deliveries (job_id, url, created_at, next_at) VALUES (\(job.id), \(url), \(now), \(now))", logger: logger
                ).collect()
                transitions.webhooks += 1
            }
            if job.status != .cancelled && job.status != .expired {
                let created = rules.followUps(of: job)
                if !created.isEmpty {
                    try await Self.insert(created, connection, logger: logger)
                    for new in created.map(\.job) {
                        if new.status == .failed { pending.append(new) } else { transitions.created.append(new) }
                    }
                }
            }
            guard job.origin.kind == .runBefore, let parent = job.origin.parentID else { continue }
            if job.status == .completed {
                // Lock the parent first, in its own statement: a manager completing another of its
                // dependencies at the same time then waits for this transaction, and its release
                // check, a later statement, sees this completion. Without the lock each would see
                // the other's dependency still running and neither would release the parent.
                _ = try await connection.query("SELECT id FROM jobs WHERE id = \(parent) FOR UPDATE", logger: logger).collect()
                transitions.released += try await Self.fetchJobs(
                    connection,
                    """
                    UPDATE jobs SET status = 'queued' WHERE id = \(parent) AND \(unescaped: Self.readyToRelease) RETURNING \(unescaped: Self.jobColumns)
                    """, logger: logger
                ).map(\.job)
            } else {
                let reason =
                    job.status == .cancelled || job.status == .expired
                    ? "run_before task '\(job.task)' (job \(job.id)) was \(job.status.rawValue)"
                    : "run_before task '\(job.task)' (job \(job.id)) failed: \(job.error ?? "unknown error")"
                pending += try await Self.fetchJobs(
                    connection,
                    """
                    UPDATE jobs SET status = 'failed', error = \(Self.text(reason)), finished_at = \(now.timeIntervalSince1970)
                    WHERE id = \(parent) AND status = 'waiting' RETURNING \(unescaped: Self.jobColumns)
                    """, logger: logger
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
