import Foundation
import PostgresNIO

/// The row selection of a claim on PostgreSQL: the `seq` of up to `limit` queued, ready jobs of
/// a queue among the served tasks, highest priority first and oldest first within a priority,
/// locked `FOR UPDATE SKIP LOCKED`.
///
/// Read per task: each task's arm takes its `limit` oldest ready jobs from `jobs_claim_task`
/// (`(queue, task, priority DESC, seq)` over queued jobs, rebuilt by "v3-job-features"), the arms are combined and the
/// oldest `limit` of them win. A claim so reads at most tasks × limit index entries, however
/// many jobs of tasks it does not serve are queued ahead; one filter over the queue's index in
/// `seq` order would walk all of them (25 ms at 100,000 queued, 0.3 s at 1,000,000).
///
/// Each arm locks its own rows (`FOR UPDATE SKIP LOCKED` is not allowed on a `UNION`, and
/// locking there, after the choice, would make concurrent claimers pick the same head and
/// come back empty): a concurrent claimer passes over them and takes the next ones. The rows an
/// arm locked but the final `LIMIT` left out stay queued and are free again when the claim's
/// statement ends.
///
/// Shared by ``PostgresJobStore/claim(queue:tasks:hostID:limit:leaseDuration:now:)`` and
/// ``PostgresJobStore/claimPlan(queue:tasks:limit:now:)``, so the plan shown is the plan run.
struct PostgresClaimQuery {
    /// The selection, its parameters numbered after those already in `binds`.
    let sql: String

    /// Appends the selection's parameters to `binds`. `tasks` must not be empty; they are
    /// sorted, so a set of tasks always gives the same statement.
    /// A task in `taskLimits` takes at most that many (its concurrency cap or rate limit allows no more).
    init(queue: String, tasks: Set<String>, limit: Int, now: Date, binds: inout PostgresBindings, taskLimits: [String: Int] = [:]) {
        func parameter(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        let queue = parameter(queue)
        let now = parameter(now.timeIntervalSince1970)
        let limitValue = limit
        let limit = parameter(limit)
        var arms: [String] = []
        for (index, task) in tasks.sorted().enumerated() {
            arms.append(
                """
                SELECT seq, priority FROM (
                    SELECT seq, priority FROM jobs
                    WHERE queue = \(queue) AND status = 'queued' AND task = \(parameter(task)) AND run_at <= \(now)
                        AND (expires_at IS NULL OR expires_at > \(now))
                    ORDER BY priority DESC, seq
                    LIMIT \(taskLimits[task].map { parameter(min($0, limitValue)) } ?? limit)
                    FOR UPDATE SKIP LOCKED
                ) AS task\(index)
                """)
        }
        self.sql = """
            SELECT seq FROM (
            \(arms.joined(separator: "\nUNION ALL\n"))
            ) AS candidates
            ORDER BY priority DESC, seq
            LIMIT \(limit)
            """
    }
}
