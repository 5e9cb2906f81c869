import Synchronization

/// State guarded by a lock, and the tasks waiting for a condition over it: the one shape of the
/// host's waits (the claim loop for a free slot, the reporter for something to send).
///
/// `update` changes the state and wakes the waiters, which look at their condition again;
/// `wait(until:)` returns what its condition returns once that is not `nil`, or `nil` when its
/// task is cancelled. A waiter never misses an update: it registers under the same lock in
/// which it found its condition false.
final class ConditionWaiter<State: Sendable>: Sendable {
    private struct Guarded: Sendable {
        var value: State
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextID: UInt64 = 0
    }
    private let guarded: Mutex<Guarded>

    init(_ initial: State) {
        guarded = Mutex(Guarded(value: initial))
    }

    /// Reads or changes the state without waking anyone (a change no waiter waits for).
    func withLock<Result: Sendable>(_ body: (inout State) -> Result) -> Result {
        guarded.withLock { body(&$0.value) }
    }

    /// Changes the state and wakes every waiter to look again.
    @discardableResult
    func update<Result: Sendable>(_ body: (inout State) -> Result) -> Result {
        let (result, waiters) = guarded.withLock { guarded in
            let result = body(&guarded.value)
            defer { guarded.waiters = [:] }
            return (result, Array(guarded.waiters.values))
        }
        for waiter in waiters { waiter.resume() }
        return result
    }

    /// Waits until `condition` (run under the lock, and free to change the state) returns a
    /// value; `nil` if the task is cancelled first.
    func wait<Result: Sendable>(until condition: (inout State) -> Result?) async -> Result? {
        while !Task.isCancelled {
            let id = guarded.withLock { guarded -> UInt64 in
                guarded.nextID += 1
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
                        guarded.waiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                guarded.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
            }
            if let found { return found }
        }
        return nil
    }
}
