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
/// Kept by job and then by lease number: after a lease lapses, the same job can be claimed
/// again by this very host, and the stale run must be told apart from the new one. By job
/// first, so that finding a job's runs (a start looking for a stale run, a cancel) costs one
/// lookup, not a walk of every run the host has.
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

    /// Job id → lease number → run.
    private let entries = Mutex([String: [Int: Entry]]())

    func insert(_ run: LeasedJob, leaseDeadline: ContinuousClock.Instant) {
        entries.withLock { $0[run.jobID, default: [:]][run.lease] = Entry(leaseDeadline: leaseDeadline) }
    }

    /// Links the task that runs `run`; a stop asked for before it was linked applies now.
    func attach(_ run: LeasedJob, task: Task<JobReport?, Never>) {
        let stopNow = entries.withLock { entries -> Bool in
            entries[run.jobID]?[run.lease]?.task = task
            return entries[run.jobID]?[run.lease]?.stop != nil
        }
        if stopNow { task.cancel() }
    }

    /// Records that the run's outcome was handed to the reporter.
    func markReported(_ run: LeasedJob) {
        entries.withLock { $0[run.jobID]?[run.lease]?.reported = true }
    }

    /// Stops a run whose lease the manager no longer renews, unless its outcome was already
    /// reported (the manager ended the job with it before it read the heartbeat). Returns true
    /// when the run was stopped.
    func stopLost(_ run: LeasedJob) -> Bool {
        let reported = entries.withLock { $0[run.jobID]?[run.lease]?.reported ?? false }
        return !reported && stop(run, reason: .leaseLost)
    }

    func remove(_ run: LeasedJob) {
        entries.withLock { entries in
            entries[run.jobID]?[run.lease] = nil
            if entries[run.jobID]?.isEmpty == true { entries[run.jobID] = nil }
        }
    }

    /// Stops a run; the first reason given wins. Returns false if it is not running here.
    @discardableResult
    func stop(_ run: LeasedJob, reason: StopReason) -> Bool {
        let task: Task<JobReport?, Never>?? = entries.withLock { entries in
            guard let entry = entries[run.jobID]?[run.lease] else { return nil }
            if entry.stop == nil { entries[run.jobID]?[run.lease]?.stop = reason }
            return .some(entry.task)
        }
        guard let task else { return false }
        task?.cancel()
        return true
    }

    /// Stops every run of job `id` (a cancellation names the job, not the run).
    @discardableResult
    func stop(jobID id: String, reason: StopReason) -> Bool {
        var stopped = false
        for run in runs(ofJob: id) {
            stopped = stop(run, reason: reason) || stopped
        }
        return stopped
    }

    func stopAll(reason: StopReason) {
        for run in snapshot() { stop(run, reason: reason) }
    }

    func reason(_ run: LeasedJob) -> StopReason? {
        entries.withLock { $0[run.jobID]?[run.lease]?.stop }
    }

    /// The runs of job `id` here: one, or more while a stale run of it has not yet stopped.
    func runs(ofJob id: String) -> [LeasedJob] {
        entries.withLock { entries in (entries[id]?.keys).map { $0.map { LeasedJob(jobID: id, lease: $0) } } ?? [] }
    }

    func snapshot() -> [LeasedJob] {
        entries.withLock { entries in entries.flatMap { id, runs in runs.keys.map { LeasedJob(jobID: id, lease: $0) } } }
    }

    /// How many runs there are.
    var count: Int {
        entries.withLock { entries in entries.values.reduce(0) { $0 + $1.count } }
    }

    /// Moves the lease deadline of runs the manager renewed.
    func renewed(_ runs: [LeasedJob], until deadline: ContinuousClock.Instant) {
        entries.withLock { entries in
            for run in runs {
                guard let current = entries[run.jobID]?[run.lease]?.leaseDeadline else { continue }
                entries[run.jobID]?[run.lease]?.leaseDeadline = max(current, deadline)
            }
        }
    }

    /// Runs whose lease deadline has passed without a renewal.
    func overdue(at now: ContinuousClock.Instant) -> [LeasedJob] {
        runsWhere { $0.stop == nil && $0.leaseDeadline <= now }
    }

    /// Jobs being stopped because a user cancelled them.
    var cancelling: [String] {
        runsWhere { $0.stop == .cancelled }.map(\.jobID)
    }

    var isEmpty: Bool {
        entries.withLock { $0.isEmpty }
    }

    private func runsWhere(_ matches: (Entry) -> Bool) -> [LeasedJob] {
        entries.withLock { entries in
            entries.flatMap { id, runs in runs.filter { matches($0.value) }.map { LeasedJob(jobID: id, lease: $0.key) } }
        }
    }
}
