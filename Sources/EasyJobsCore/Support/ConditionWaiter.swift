import Synchronization

/// State guarded by a lock, and the tasks waiting for a condition over it: the one shape of
/// every wait in the host and the manager (a free slot, something to report, new work in a
/// queue, a job's end).
///
/// `update` changes the state and wakes waiters, which look at their condition again;
/// `wait(until:)` returns what its condition returns once that is not `nil`, or `nil` when its
/// task is cancelled or its timeout passes. A waiter never misses an update: it registers under
/// the same lock in which it found its condition false.
///
/// Waiters may wait on a key, and an update may wake one key only: a thousand claims long-polling
/// a hundred queues are not all woken by every enqueue.
///
/// ```swift
/// let free = ConditionWaiter<Int, Unkeyed>(4)
/// let left = await free.wait { count -> Int? in
///     guard count > 0 else { return nil }
///     count -= 1
///     return count
/// }
/// free.update { $0 += 1 }
/// ```
public final class ConditionWaiter<State: Sendable, Key: Hashable & Sendable>: Sendable {
    private struct Guarded: Sendable {
        var value: State
        var waiters: [Key: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        var nextID: UInt64 = 0
    }
    private let guarded: Mutex<Guarded>

    public init(_ initial: State) {
        guarded = Mutex(Guarded(value: initial))
    }

    /// Reads or changes the state without waking anyone (a change no waiter waits for).
    public func withLock<Result: Sendable>(_ body: (inout State) -> Result) -> Result {
        guarded.withLock { body(&$0.value) }
    }

    /// Changes the state and wakes the waiters on `key` (every waiter when `key` is `nil`) to
    /// look again.
    @discardableResult
    public func update<Result: Sendable>(waking key: Key?, _ body: (inout State) -> Result) -> Result {
        let (result, waiters) = guarded.withLock { guarded in
            let result = body(&guarded.value)
            let woken: [CheckedContinuation<Void, Never>]
            if let key {
                woken = guarded.waiters.removeValue(forKey: key).map { Array($0.values) } ?? []
            } else {
                woken = guarded.waiters.values.flatMap(\.values)
                guarded.waiters = [:]
            }
            return (result, woken)
        }
        for waiter in waiters { waiter.resume() }
        return result
    }

    /// Waits on `key` until `condition` (run under the lock, and free to change the state)
    /// returns a value; `nil` if the task is cancelled first.
    public func wait<Result: Sendable>(on key: Key, until condition: (inout State) -> Result?) async -> Result? {
        while !Task.isCancelled {
            let id = guarded.withLock { guarded -> UInt64 in
                guarded.nextID &+= 1
                return guarded.nextID
            }
            var found: Result?
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = guarded.withLock { guarded -> Bool in
                        if let result = condition(&guarded.value) {
                            found = result
                            return true
                        }
                        if Task.isCancelled { return true }
                        guarded.waiters[key, default: [:]][id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                guarded.withLock { guarded -> CheckedContinuation<Void, Never>? in
                    let waiter = guarded.waiters[key]?.removeValue(forKey: id)
                    if guarded.waiters[key]?.isEmpty == true { guarded.waiters.removeValue(forKey: key) }
                    return waiter
                }?.resume()
            }
            if let found { return found }
        }
        return nil
    }

    /// ``wait(on:until:)`` for at most `timeout`: `nil` once it passes.
    public func wait<Result: Sendable>(
        on key: Key, timeout: Duration, until condition: @escaping @Sendable (inout State) -> Result?
    ) async -> Result? {
        await withTaskGroup(of: Result?.self) { group in
            group.addTask { await self.wait(on: key, until: condition) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}

/// The key of a ``ConditionWaiter`` whose waiters all wait for the same thing.
public enum Unkeyed: Hashable, Sendable {
    case all
}

extension ConditionWaiter where Key == Unkeyed {
    /// Changes the state and wakes every waiter to look again.
    @discardableResult
    public func update<Result: Sendable>(_ body: (inout State) -> Result) -> Result {
        update(waking: nil, body)
    }

    /// Waits until `condition` returns a value; `nil` if the task is cancelled first.
    public func wait<Result: Sendable>(until condition: (inout State) -> Result?) async -> Result? {
        await wait(on: .all, until: condition)
    }
}
