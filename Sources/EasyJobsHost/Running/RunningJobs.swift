import EasyJobsCore
import Synchronization

/// Why the host stops a run before it ends by itself.
enum StopReason: Sendable, Equatable {
    /// A user cancelled the job.
    case cancelled
    /// The task's timeout passed.
    case timedOut(seconds: Double)
    /// The host is stopping and its grace period is over: the job goes back to the queue.
    case shutdown
    /// The host no longer holds the run's lease (it was paused or cut off past it): the job
    /// may already run elsewhere, so this run stops and reports nothing.
    case leaseLost
}

/// The runs this host has now, each under its lease, with a handle to stop each.
///
/// Keyed by job and lease number: after a lease lapses, the same job can be claimed again by
/// this very host, and the stale run must be told apart from the new one.
final class RunningJobs: Sendable {
    private struct Entry {
        var task: Task<JobReport?, Never>?
        var stop: StopReason?
        /// When the lease is known to run out, unless renewed: past it the run must stop.
        var leaseDeadline: ContinuousClock.Instant
        /// Its outcome is on its way to the manager: a heartbeat that no longer finds its lease
        /// raced with that report, and the run is not lost.
        var reported = false
    }

    private let entries = Mutex([LeasedJob: Entry]())

    func insert(_ run: LeasedJob, leaseDeadline: ContinuousClock.Instant) {
        entries.withLock { $0[run] = Entry(leaseDeadline: leaseDeadline) }
    }

    /// Links the task that runs `run`; a stop asked for before it was linked applies now.
    func attach(_ run: LeasedJob, task: Task<JobReport?, Never>) {
        let stopNow = entries.withLock { entries -> Bool in
            entries[run]?.task = task
            return entries[run]?.stop != nil
        }
        if stopNow { task.cancel() }
    }

    /// Records that the run's outcome was handed to the reporter.
    func markReported(_ run: LeasedJob) {
        entries.withLock { $0[run]?.reported = true }
    }

    /// Stops a run whose lease the manager no longer renews, unless its outcome was already
    /// reported (the manager ended the job with it before it read the heartbeat). Returns true
    /// when the run was stopped.
    func stopLost(_ run: LeasedJob) -> Bool {
        let reported = entries.withLock { $0[run]?.reported ?? false }
        return !reported && stop(run, reason: .leaseLost)
    }

    func remove(_ run: LeasedJob) {
        entries.withLock { _ = $0.removeValue(forKey: run) }
    }

    /// Stops a run; the first reason given wins. Returns false if it is not running here.
    @discardableResult
    func stop(_ run: LeasedJob, reason: StopReason) -> Bool {
        let task: Task<JobReport?, Never>?? = entries.withLock { entries in
            guard entries[run] != nil else { return nil }
            if entries[run]?.stop == nil { entries[run]?.stop = reason }
            return .some(entries[run]?.task)
        }
        guard let task else { return false }
        task?.cancel()
        return true
    }

    /// Stops every run of job `id` (a cancellation names the job, not the run).
    @discardableResult
    func stop(jobID id: String, reason: StopReason) -> Bool {
        var stopped = false
        for run in snapshot() where run.jobID == id {
            stopped = stop(run, reason: reason) || stopped
        }
        return stopped
    }

    func stopAll(reason: StopReason) {
        for run in snapshot() { stop(run, reason: reason) }
    }

    func reason(_ run: LeasedJob) -> StopReason? {
        entries.withLock { $0[run]?.stop }
    }

    func snapshot() -> [LeasedJob] {
        entries.withLock { Array($0.keys) }
    }

    /// Moves the lease deadline of runs the manager renewed.
    func renewed(_ runs: [LeasedJob], until deadline: ContinuousClock.Instant) {
        entries.withLock { entries in
            for run in runs {
                guard let current = entries[run]?.leaseDeadline else { continue }
                entries[run]?.leaseDeadline = max(current, deadline)
            }
        }
    }

    /// Runs whose lease deadline has passed without a renewal.
    func overdue(at now: ContinuousClock.Instant) -> [LeasedJob] {
        entries.withLock { entries in entries.filter { $0.value.stop == nil && $0.value.leaseDeadline <= now }.map(\.key) }
    }

    /// Jobs being stopped because a user cancelled them.
    var cancelling: [String] {
        entries.withLock { entries in entries.filter { $0.value.stop == .cancelled }.map(\.key.jobID) }
    }

    var isEmpty: Bool {
        entries.withLock { $0.isEmpty }
    }
}
