import Foundation
import GRDB

extension SQLiteJobStore: JobRetention {
    /// Finished jobs older than a cutoff that may go, in batches that keep the writer short.
    /// `jobs_finished` finds them; named with `INDEXED BY` because without statistics SQLite
    /// read `jobs_status` for the status list, walking every finished job from the oldest.
    static let prunableSelection = """
        SELECT id FROM jobs INDEXED BY jobs_finished
        WHERE finished_at < ? AND status IN ('completed', 'failed', 'cancelled', 'expired')
          AND NOT (origin = 'run_before' AND EXISTS (
              SELECT 1 FROM jobs AS parent WHERE parent.id = jobs.parent_id AND parent.status IN ('waiting', 'scheduled', 'queued', 'running')))
        LIMIT ?
        """

    public func prune(finishedBefore cutoff: Date, limit: Int) async throws -> Int {
        try await write("prune finished jobs") { db in
            let ids = try String.fetchAll(db, sql: Self.prunableSelection, arguments: [cutoff.timeIntervalSince1970, max(limit, 0)])
            guard !ids.isEmpty else { return 0 }
            let list = Self.placeholders(ids.count)
            try db.execute(sql: "DELETE FROM job_logs WHERE job_id IN (\(list))", arguments: StatementArguments(ids))
            try db.execute(sql: "DELETE FROM jobs WHERE id IN (\(list))", arguments: StatementArguments(ids))
            return ids.count
        }
    }
}
