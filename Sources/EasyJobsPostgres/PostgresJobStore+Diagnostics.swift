import EasyJobsCore
import EasyJobsStore
import Foundation
import PostgresNIO

extension PostgresJobStore: ClaimPlanning {
    /// The plan PostgreSQL runs for the row selection of ``claim(queue:tasks:hostID:limit:leaseDuration:now:)``,
    /// executed (`EXPLAIN ANALYZE`, rows locked and released at once, nothing claimed): what
    /// shows that each task's jobs come from the partial `jobs_claim_task` index and not from a
    /// walk of the backlog. For benchmarks, tests and operators.
    public func claimPlan(queue: String, tasks: Set<String>, limit: Int, now: Date) async throws -> [String] {
        guard !tasks.isEmpty else { return [] }
        var binds = PostgresBindings()
        // The selection of claim(), word for word.
        let selection = PostgresClaimQuery(queue: queue, tasks: tasks, limit: max(limit, 1), now: now, binds: &binds)
        let rows = try await query(
            "explain a claim", context: ["queue": queue],
            PostgresQuery(unsafeSQL: "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) " + selection.sql, binds: binds))
        return try rows.map { try $0.decode(String.self) }
    }
}
