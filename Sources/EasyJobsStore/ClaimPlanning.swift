import Foundation

/// A store that can show how it finds the jobs of a claim: the database's plan for the row
/// selection of ``JobStore/claim(queue:tasks:hostID:limit:leaseDuration:now:)``.
///
/// A claim must cost the same whatever lies queued behind the jobs it takes, which holds only
/// while the plan reads each served task's jobs from an index in enqueue order. The plan is
/// the one thing that shows it before a backlog makes it slow: benchmarks print it, tests
/// assert on it, operators compare it with what they see.
public protocol ClaimPlanning: Sendable {
    /// The plan, one line per node, as the database words it (so the index names appear).
    /// Reads the plan only: nothing is claimed.
    func claimPlan(queue: String, tasks: Set<String>, limit: Int, now: Date) async throws -> [String]
}
