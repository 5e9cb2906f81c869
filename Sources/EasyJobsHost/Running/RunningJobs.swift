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
        let lease: Int
        var task: Task<JobReport?, Never>?
        var stop: StopReason?
        /// When the lease is known to run out, unless renewed: past it the run must stop.
        var leaseDeadline: ContinuousClock.Instant
        /// Its outcome is on its way to the manager: a heartbeat that no longer finds its lease
        /// raced with that report, and the run is not lost.
        var reported = false
    }

    /// Job id → its runs, one but while a stale run has not yet stopped: a list, not a
    /// dictionary by lease, which cost a second table's allocation and hashing for every job.
    private let entries = Mutex([String: [Entry]]())

    func insert(_ run: LeasedJob, leaseDeadline: ContinuousClock.Instant) {
        entries.withLock { entries in
            entries[run.jobID, default: []].removeAll { $0.lease == run.lease }
            entries[run.jobID, default: []].append(Entry(lease: run.lease, leaseDeadline: leaseDeadline))
        }
    }

    /// Links the task that runs `run`; a stop asked for before it was linked applies now.
    func attach(_ run: LeasedJob, task: Task<JobReport?, Never>) {
        let stopNow = entries.withLock { entries -> Bool in
            Self.update(run, in: &entries) { entry in
                entry.task = task
                return entry.stop != nil
            } ?? false
        }
        if stopNow { task.cancel() }
    }

    /// Records that the run's outcome was handed to the reporter.
    func markReported(_ run: LeasedJob) {
        entries.withLock { entries in Self.update(run, in: &entries) { $0.reported = true } }
    }

    /// Stops a run whose lease the manager no longer renews, unless its outcome was already
    /// reported (the manager ended the job with it before it read the heartbeat). Returns true
    /// when the run was stopped.
    func stopLost(_ run: LeasedJob) -> Bool {
        let reported = entries.withLock { Self.entry(run, in: $0)?.reported ?? false }
        return !reported && stop(run, reason: .leaseLost)
    }

    func remove(_ run: LeasedJob) {
        entries.withLock { entries in
            guard var runs = entries.removeValue(forKey: run.jobID) else { return }
            runs.removeAll { $0.lease == run.lease }
            if !runs.isEmpty { entries[run.jobID] = runs }
        }
    }

    /// Stops a run; the first reason given wins. Returns false if it is not running here.
    @discardableResult
    func stop(_ run: LeasedJob, reason: StopReason) -> Bool {
        let task: Task<JobReport?, Never>?? = entries.withLock { entries in
            Self.update(run, in: &entries) { entry in
                if entry.stop == nil { entry.stop = reason }
                return entry.task
            }
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
        entries.withLock { Self.entry(run, in: $0)?.stop }
    }

    /// The runs of job `id` here: one, or more while a stale run of it has not yet stopped.
    func runs(ofJob id: String) -> [LeasedJob] {
        entries.withLock { entries in entries[id]?.map { LeasedJob(jobID: id, lease: $0.lease) } ?? [] }
    }

    func snapshot() -> [LeasedJob] {
        entries.withLock { entries in entries.flatMap { id, runs in runs.map { LeasedJob(jobID: id, lease: $0.lease) } } }
    }

    /// How many runs there are.
    var count: Int {
        entries.withLock { entries in entries.values.reduce(0) { $0 + $1.count } }
    }

    /// Moves the lease deadline of runs the manager renewed.
    func renewed(_ runs: [LeasedJob], until deadline: ContinuousClock.Instant) {
        entries.withLock { entries in
            for run in runs {
                Self.update(run, in: &entries) { $0.leaseDeadline = max($0.leaseDeadline, deadline) }
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
            entries.flatMap { id, runs in runs.filter(matches).map { LeasedJob(jobID: id, lease: $0.lease) } }
        }
    }

    private static func entry(_ run: LeasedJob, in entries: [String: [Entry]]) -> Entry? {
        entries[run.jobID]?.first { $0.lease == run.lease }
    }

    /// Changes the entry of `run` in place; `nil` when it is not running here.
    private static func update<Result>(_ run: LeasedJob, in entries: inout [String: [Entry]], _ body: (inout Entry) -> Result) -> Result? {
        guard let index = entries[run.jobID]?.firstIndex(where: { $0.lease == run.lease }) else { return nil }
        return body(&entries[run.jobID]![index])
    }
}
