import Foundation

/// A store that can forget finished work: what keeps a long-running manager's database from
/// growing without end.
public protocol JobRetention: Sendable {
    /// Deletes up to `limit` jobs that finished before `cutoff`, with their logs, in one short
    /// transaction; returns how many it deleted (fewer than `limit`: nothing older is left).
    /// Jobs that wait, are queued or run are never deleted, nor a finished `run_before` job
    /// whose parent has not finished (the parent still needs its result).
    func prune(finishedBefore cutoff: Date, limit: Int) async throws -> Int
}
