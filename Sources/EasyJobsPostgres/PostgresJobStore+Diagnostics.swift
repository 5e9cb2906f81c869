import EasyJobsCore
import EasyJobsStore
import Foundation
import PostgresNIO

extension PostgresJobStore {
    /// The plan PostgreSQL runs for the row selection of ``claim(queue:tasks:hostID:limit:leaseDuration:now:)``,
    /// executed (`EXPLAIN ANALYZE`, rows locked and released at once): what shows that a claim
    /// reads the partial `jobs_claim` index and not the backlog. For benchmarks and operators.
    public func claimPlan(queue: String, tasks: Set<String>, limit: Int, now: Date) async throws -> [String] {
        // The selection of claim(), word for word.
        let rows = try await query("explain a claim", """
            EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF)
            SELECT seq FROM jobs
            WHERE queue = \(queue) AND status = 'queued' AND task = ANY(\(Array(tasks))) AND run_at <= \(now.timeIntervalSince1970)
            ORDER BY seq
            LIMIT \(limit)
            FOR UPDATE SKIP LOCKED
            """)
        return try rows.map { try $0.decode(String.self) }
    }
}
