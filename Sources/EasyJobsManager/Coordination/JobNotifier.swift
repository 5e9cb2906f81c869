import Foundation
import Synchronization

/// Wakes long-polling claims when work arrives and pulls when a job finishes.
///
/// Each queue has a version that every enqueue bumps: a claim reads it before it looks for
/// work, and waits only while it is unchanged, so an enqueue between the look and the wait
/// is never missed.
public final class JobNotifier: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var versions: [String: UInt64] = [:]
        var workWaiters: [String: [Waiter]] = [:]
        var finishWaiters: [String: [Waiter]] = [:]
        var finishVersion: UInt64 = 0
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func version(of queue: String) -> UInt64 {
        state.withLock { $0.versions[queue, default: 0] }
    }

    /// New work in `queue`: wakes every claim waiting on it.
    public func workArrived(in queue: String) {
        let waiters = state.withLock { state in
            state.versions[queue, default: 0] &+= 1
            return state.workWaiters.removeValue(forKey: queue) ?? []
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Work may have arrived in any queue (jobs handed back after a lease ran out).
    public func workArrivedEverywhere() {
        let queues = state.withLock { Array($0.workWaiters.keys) + Array($0.versions.keys) }
        for queue in Set(queues) { workArrived(in: queue) }
    }

    /// Waits until `queue` moves past `version` or `timeout` passes.
    public func waitForWork(in queue: String, after version: UInt64, timeout: Duration) async {
        await wait(timeout: timeout) { state, waiter in
            if state.versions[queue, default: 0] != version { return false }
            state.workWaiters[queue, default: []].append(waiter)
            return true
        } remove: { state, id in
            state.workWaiters[queue]?.removeAll { $0.id == id }
        }
    }

    /// Bumped by every finish; a pull reads it before it reads the job, like a queue version.
    public var finishVersion: UInt64 {
        state.withLock { $0.finishVersion }
    }

    /// A job finished: wakes pulls waiting on it.
    public func jobFinished(_ id: String) {
        let waiters = state.withLock { state in
            state.finishVersion &+= 1
            return state.finishWaiters.removeValue(forKey: id) ?? []
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Waits until job `id` finishes or `timeout` passes. Returns at once when any job finished
    /// since `version` was read, so the caller re-reads and never misses this job's finish.
    public func waitForFinish(of id: String, after version: UInt64, timeout: Duration) async {
        await wait(timeout: timeout) { state, waiter in
            if state.finishVersion != version { return false }
            state.finishWaiters[id, default: []].append(waiter)
            return true
        } remove: { state, waiterID in
            state.finishWaiters[id]?.removeAll { $0.id == waiterID }
        }
    }

    private func wait(
        timeout: Duration,
        register: @Sendable @escaping (inout State, Waiter) -> Bool,
        remove: @Sendable @escaping (inout State, UInt64) -> Void
    ) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let registered = self.state.withLock { state in
                            register(&state, Waiter(id: id, continuation: continuation))
                        }
                        if !registered || Task.isCancelled {
                            if registered { self.resume(id: id, remove: remove) } else { continuation.resume() }
                        }
                    }
                } onCancel: {
                    self.resume(id: id, remove: remove)
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Resumes and forgets the waiter `id` if it is still registered.
    private func resume(id: UInt64, remove: @Sendable (inout State, UInt64) -> Void) {
        let waiter: Waiter? = state.withLock { state in
            let all = state.workWaiters.values.joined().first { $0.id == id } ?? state.finishWaiters.values.joined().first { $0.id == id }
            remove(&state, id)
            return all
        }
        waiter?.continuation.resume()
    }
}
