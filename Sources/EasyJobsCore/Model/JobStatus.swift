/// Where a job is in its life.
public enum JobStatus: String, Codable, Sendable, CaseIterable {
    /// Waiting for a host to claim it.
    case queued
    /// Claimed by a host, under a lease.
    case running
    case completed
    case failed

    /// Whether the job will change no more.
    public var isFinished: Bool { self == .completed || self == .failed }
}
