import EasyJobsCore
import Foundation

/// The manager's decisions about a job whose run ended, which the store applies inside the
/// transaction that records the end, so that an end and its consequences commit together.
///
/// Implementations must be quick and must not touch the store: they run while the store's
/// writer is held.
public protocol JobRules: Sendable {
    /// Seconds until the next try of `job`, whose run just failed or whose host died holding it
    /// (`job.attempts` counts that run); `nil` when it gets no further try and ends failed.
    func retryDelay(for job: Job) -> TimeInterval?

    /// The jobs `job`'s end creates: the `run_after` successors of a completed job, the
    /// `on_failure` handler of a failed one. Jobs born `failed` are ends too and get theirs.
    func followUps(of job: Job) -> [NewJob]
}

/// Rules that never retry and create nothing: a job ends as its run ended.
public struct FinalRules: JobRules {
    public init() {}
    public func retryDelay(for job: Job) -> TimeInterval? { nil }
    public func followUps(of job: Job) -> [NewJob] { [] }
}

/// What one store operation did to jobs, for the manager to notify hosts, clients and metrics.
public struct JobTransitions: Sendable {
    /// Jobs that ended (completed, failed, cancelled): those reported and those ended as a
    /// consequence (a parent whose dependency failed, a successor born failed).
    public var finished: [Job] = []
    /// Jobs queued again for another try.
    public var retried: [Job] = []
    /// Jobs created by the ends (successors, failure handlers), queued or waiting.
    public var created: [Job] = []
    /// Waiting jobs whose dependencies all completed, now queued.
    public var released: [Job] = []
    /// Reports refused: the reporting host no longer holds that job under that lease.
    public var rejected: [String] = []
    /// Webhook deliveries the ends queued.
    public var webhooks = 0

    public init() {}

    /// The queues that gained work a host may claim.
    public var queuesWithNewWork: Set<String> { queuesWithNewWork(except: []) }

    /// The queues that gained work a host may claim, but for the jobs in `taken` (claimed
    /// already, by the report that made them).
    public func queuesWithNewWork(except taken: Set<String>) -> Set<String> {
        Set((retried + created.filter { $0.status == .queued } + released).filter { !taken.contains($0.id) }.map(\.queue))
    }
}
