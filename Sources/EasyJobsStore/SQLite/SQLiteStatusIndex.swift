import EasyJobsCore

/// Which index of the `jobs` table holds the jobs of a status (migration `v7-indexes-by-status`).
///
/// Each status a job passes through has a partial index of its own, and so have failures: a
/// job's claim moves it between two small indexes, and a successful end adds it to one index,
/// `jobs_finished`, where it stays. No index holds every job by status, which is what a
/// status change had to move before, the writer's largest cost per batched job (issue 14).
/// Completed jobs, the bulk of the table, are counted from `jobs_finished` and listed from the
/// table itself, newest first. SQLite uses a partial index only for a statement whose WHERE
/// clause repeats the index's condition word for word, so a selection states it
/// (``condition(for:)``) and names its index (`INDEXED BY`), which also makes SQLite refuse the
/// statement rather than walk the table if the index ever stops fitting.
///
/// ```swift
/// for (index, statuses) in SQLiteStatusIndex.covering([.queued, .failed]) {
///     let sql = "SELECT COUNT(*) FROM jobs INDEXED BY \(index.counted) WHERE \(index.condition(for: statuses)) AND queue = ?"
/// }
/// ```
struct SQLiteStatusIndex: Sendable {
    /// What a statement states to use the index: the index's own condition.
    let condition: String
    /// The statuses it holds, in ``JobStatus`` order.
    let statuses: [JobStatus]
    /// The index a count reads, from its columns alone.
    let counted: String
    /// The index a page newest first reads; `nil` for the table itself, newest first.
    let listed: String?

    /// The statuses of failed runs, which have an index of their own.
    static let unsuccessfulCondition = "status IN ('failed', 'cancelled', 'expired')"

    static let all: [SQLiteStatusIndex] = [
        SQLiteStatusIndex(condition: "status = 'waiting'", statuses: [.waiting], counted: "jobs_waiting", listed: "jobs_waiting"),
        SQLiteStatusIndex(condition: "status = 'scheduled'", statuses: [.scheduled], counted: "jobs_scheduled", listed: "jobs_scheduled"),
        SQLiteStatusIndex(condition: "status = 'queued'", statuses: [.queued], counted: "jobs_claim_task", listed: "jobs_claim_task"),
        SQLiteStatusIndex(condition: "status = 'running'", statuses: [.running], counted: "jobs_lease_expiry", listed: "jobs_lease_expiry"),
        // Every end sets finished_at; the count states it for SQLite to read jobs_finished.
        SQLiteStatusIndex(
            condition: "finished_at IS NOT NULL AND status = 'completed'", statuses: [.completed], counted: "jobs_finished", listed: nil),
        SQLiteStatusIndex(
            condition: unsuccessfulCondition, statuses: [.failed, .cancelled, .expired], counted: "jobs_unsuccessful",
            listed: "jobs_unsuccessful"),
    ]

    /// The indexes that hold `statuses`, each with the ones it holds; empty for an empty set.
    static func covering(_ statuses: Set<JobStatus>) -> [(index: SQLiteStatusIndex, statuses: [JobStatus])] {
        all.compactMap { index in
            let held = index.statuses.filter(statuses.contains)
            return held.isEmpty ? nil : (index, held)
        }
    }

    /// The index's condition narrowed to `selected` of its statuses: the index's own condition
    /// first (what lets SQLite use it), then the statuses asked for, as literals (they are
    /// ``JobStatus`` raw values).
    func condition(for selected: [JobStatus]) -> String {
        guard selected.count < statuses.count else { return condition }
        return condition + " AND status IN (" + selected.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
    }

    /// How a page's selection names its index: `INDEXED BY` it, or `NOT INDEXED` for the table.
    var listedClause: String { listed.map { "INDEXED BY \($0)" } ?? "NOT INDEXED" }
}
