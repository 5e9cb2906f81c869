import Foundation
import GRDB

/// The row selection of a claim on SQLite: the `seq` of up to `limit` queued, ready jobs of a
/// queue among the served tasks, highest priority first, oldest first within a priority.
///
/// Read per task: each task's arm takes its `limit` oldest ready jobs from `jobs_claim_task`
/// (`(queue, task, priority DESC, seq)` over queued jobs, "v4-job-features"), the arms are combined and the
/// oldest `limit` of them win. A claim so reads at most tasks × limit index entries, however
/// many jobs of tasks it does not serve are queued ahead; one filter over the queue's index in
/// `seq` order would walk all of them (26 ms at 100,000 queued, 0.25 s at 1,000,000).
///
/// `status = 'queued'` is written out, not bound: SQLite picks a partial index only when the
/// query states its condition literally. The selection is shared by
/// ``SQLiteJobStore/claim(queue:tasks:hostID:limit:leaseDuration:now:)`` and
/// ``SQLiteJobStore/claimPlan(queue:tasks:limit:now:)``, so the plan shown is the plan run.
struct SQLiteClaimQuery {
    let sql: String
    let arguments: StatementArguments

    /// `tasks` must not be empty. Sorted, so a set of tasks always gives the same statement
    /// (one entry in the statement cache) and the same argument order.
    /// A task in `taskLimits` takes at most that many (its concurrency cap or rate limit allows no more).
    init(queue: String, tasks: Set<String>, limit: Int, now: Date, taskLimits: [String: Int] = [:]) {
        let arm = """
            SELECT seq, priority FROM (
                SELECT seq, priority FROM jobs
                WHERE queue = ? AND status = 'queued' AND task = ? AND run_at <= ? AND (expires_at IS NULL OR expires_at > ?)
                ORDER BY priority DESC, seq
                LIMIT ?
            )
            """
        var arguments = StatementArguments()
        for task in tasks.sorted() {
            arguments += [queue, task, now.timeIntervalSince1970, now.timeIntervalSince1970, min(limit, taskLimits[task] ?? limit)]
        }
        arguments += [limit]
        self.sql = """
            SELECT seq FROM (
            \(Array(repeating: arm, count: tasks.count).joined(separator: "\nUNION ALL\n"))
            )
            ORDER BY priority DESC, seq
            LIMIT ?
            """
        self.arguments = arguments
    }
}
