/// Where a job is in its life.
public enum JobStatus: String, Codable, Sendable, CaseIterable {
    /// Waiting for the tasks of its `run_before` to succeed.
    case waiting
    /// Enqueued with a later `run_at` (or `delay`): queued when that time comes.
    case scheduled
    /// Waiting for a host to claim it (or, after a failure, for its next try).
    case queued
    /// Claimed by a host, under a lease.
    case running
    case completed
    /// Failed for good: its retries are spent, or a dependency failed.
    case failed
    /// Stopped on request: never started, or stopped while it ran.
    case cancelled
    /// Not started by the deadline it was enqueued with (`expires_at` / `expires_in`).
    case expired

    /// Whether the job will change no more.
    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled || self == .expired }

    /// Whether the job has not started yet and may still: it can be cancelled, and it expires at its deadline.
    public var isPending: Bool { self == .waiting || self == .scheduled || self == .queued }
}
