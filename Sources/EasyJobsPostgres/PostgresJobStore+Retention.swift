import EasyJobsStore
import Foundation
import PostgresNIO

extension PostgresJobStore: JobRetention {
    public func prune(finishedBefore cutoff: Date, limit: Int) async throws -> Int {
        try await transaction("prune finished jobs") { connection in
            // jobs_finished (finished_at) finds the candidates; the batch keeps the transaction
            // short. SKIP LOCKED passes over jobs another transaction is changing (a pull, a
            // concurrent prune): they stay for the next batch.
            let rows = try await connection.query(
                """
                SELECT id FROM jobs
                WHERE finished_at < \(cutoff.timeIntervalSince1970) AND status IN ('completed', 'failed', 'cancelled', 'expired')
                  AND NOT (origin = 'run_before' AND EXISTS (
                      SELECT 1 FROM jobs AS parent WHERE parent.id = jobs.parent_id AND parent.status IN ('waiting', 'scheduled', 'queued', 'running')))
                LIMIT \(max(limit, 0))
                FOR UPDATE SKIP LOCKED
                """, logger: self.logger
            ).collect()
            let ids: [String] = try rows.map { try Columns($0)["id"] }
            guard !ids.isEmpty else { return 0 }
            _ = try await connection.query("DELETE FROM job_logs WHERE job_id = ANY(\(ids))", logger: self.logger).collect()
            _ = try await connection.query("DELETE FROM jobs WHERE id = ANY(\(ids))", logger: self.logger).collect()
            return ids.count
        }
    }
}
