import EasyJobsCore

/// Wakes long-polling claims when work arrives and pulls when a job finishes.
///
/// Each queue has a version that every enqueue bumps: a claim reads it before it looks for
/// work, and waits only while it is unchanged, so an enqueue between the look and the wait
/// is never missed. Claims wait on their queue and pulls on their job, so an enqueue wakes
/// only the claims of its queue.
public final class JobNotifier: Sendable {
    private enum Waiting: Hashable, Sendable {
        case work(queue: String)
        case finish(job: String)
    }

    private struct State: Sendable {
        var versions: [String: UInt64] = [:]
        /// Bumped when work may have arrived anywhere; part of every queue's version.
        var everywhere: UInt64 = 0
        var finishVersion: UInt64 = 0

        func version(of queue: String) -> UInt64 {
            versions[queue, default: 0] &+ everywhere
        }

        /// Changes when any of `queues` does: each part only grows.
        func version(of queues: [String]) -> UInt64 {
            queues.reduce(everywhere) { $0 &+ versions[$1, default: 0] }
        }
    }

    private let state = ConditionWaiter<State, Waiting>(State())

    public init() {}

    public func version(of queue: String) -> UInt64 {
        state.withLock { $0.version(of: queue) }
    }

    /// New work in `queue`: wakes every claim waiting on it.
    public func workArrived(in queue: String) {
        state.update(waking: .work(queue: queue)) { $0.versions[queue, default: 0] &+= 1 }
    }

    /// Work may have arrived in any queue (jobs handed back after a lease ran out).
    public func workArrivedEverywhere() {
        state.update(waking: nil) { $0.everywhere &+= 1 }
    }

    /// Waits until `queue` moves past `version` or `timeout` passes.
    public func waitForWork(in queue: String, after version: UInt64, timeout: Duration) async {
        _ = await state.wait(on: .work(queue: queue), timeout: timeout) { $0.version(of: queue) != version ? () : nil }
    }

    /// The version of a host's several queues: it moves when any of them does.
    public func version(of queues: [String]) -> UInt64 {
        state.withLock { $0.version(of: queues) }
    }

    /// Waits until any of `queues` moves past `version` (read with ``version(of:)-([String])``)
    /// or `timeout` passes.
    public func waitForWork(in queues: [String], after version: UInt64, timeout: Duration) async {
        guard queues.count > 1 else {
            if let queue = queues.first { await waitForWork(in: queue, after: version, timeout: timeout) }
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for queue in queues {
                group.addTask { [state] in
                    _ = await state.wait(on: .work(queue: queue), timeout: timeout) { $0.version(of: queues) != version ? () : nil }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Bumped by every finish; a pull reads it before it reads the job, like a queue version.
    public var finishVersion: UInt64 {
        state.withLock { $0.finishVersion }
    }

    /// A job finished: wakes pulls waiting on it.
    public func jobFinished(_ id: String) {
        state.update(waking: .finish(job: id)) { $0.finishVersion &+= 1 }
    }

    /// Waits until job `id` finishes or `timeout` passes. Returns at once when any job finished
    /// since `version` was read, so the caller re-reads and never misses this job's finish.
    public func waitForFinish(of id: String, after version: UInt64, timeout: Duration) async {
        _ = await state.wait(on: .finish(job: id), timeout: timeout) { $0.finishVersion != version ? () : nil }
    }
}
