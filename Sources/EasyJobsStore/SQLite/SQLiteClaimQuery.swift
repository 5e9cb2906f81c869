import Foundation
import GRDB
import Synchronization

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
    /// The row selection.
    let sql: String
    /// The claim itself: the selected rows made running, returning ``SQLiteJobStore/claimedRunSelection``.
    /// Its arguments are the host id, the lease's end and the start time, then ``arguments``.
    let claimSQL: String
    let arguments: StatementArguments

    /// `tasks` must not be empty. Sorted, so a set of tasks always gives the same argument order;
    /// the statement is the same for any tasks of that number (one entry in the statement cache).
    /// A task in `taskLimits` takes at most that many (its concurrency cap or rate limit allows no more).
    init(queue: String, tasks: Set<String>, limit: Int, now: Date, taskLimits: [String: Int] = [:]) {
        let sorted = tasks.sorted()
        var arguments = StatementArguments()
        for task in sorted {
            arguments += [queue, task, now.timeIntervalSince1970, now.timeIntervalSince1970, min(limit, taskLimits[task] ?? limit)]
        }
        arguments += [limit]
        (self.sql, self.claimSQL) = Self.texts(arms: sorted.count)
        self.arguments = arguments
    }

    /// The statement texts for `arms` tasks, made once: the tasks are arguments, so the text
    /// depends on their number alone, and building a text of one arm per task took 13 % of a
    /// claim's time on the writer (profile of sequential chains over some 30 tasks).
    private static func texts(arms: Int) -> (selection: String, claim: String) {
        if let texts = cache.withLock({ $0[arms] }) { return texts }
        let arm = """
            SELECT seq, priority FROM (
                SELECT seq, priority FROM jobs
                WHERE queue = ? AND status = 'queued' AND task = ? AND run_at <= ? AND (expires_at IS NULL OR expires_at > ?)
                ORDER BY priority DESC, seq
                LIMIT ?
            )
            """
        let selection = """
            SELECT seq FROM (
            \(Array(repeating: arm, count: arms).joined(separator: "\nUNION ALL\n"))
            )
            ORDER BY priority DESC, seq
            LIMIT ?
            """
        let claim = """
            UPDATE jobs
            SET status = 'running', host_id = ?, lease_expires_at = ?, started_at = ?, attempts = attempts + 1, lease = lease + 1,
                progress = NULL, progress_message = NULL
            WHERE seq IN (\(selection))
            RETURNING \(SQLiteJobStore.claimedRunSelection)
            """
        cache.withLock { $0[arms] = (selection, claim) }
        return (selection, claim)
    }

    /// By number of arms: at most the number of tasks a queue has.
    private static let cache = Mutex<[Int: (selection: String, claim: String)]>([:])
}
