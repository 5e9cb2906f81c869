import Synchronization

/// Counts free run slots (`--max-tasks`) and lets the claim loop wait for one.
final class Capacity: Sendable {
    private struct State {
        var free: Int
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state: Mutex<State>

    init(slots: Int) {
        state = Mutex(State(free: slots))
    }

    /// Waits until at least one slot is free and returns how many are; returns 0 when cancelled.
    func waitForFree() async -> Int {
        while !Task.isCancelled {
            let free = state.withLock { $0.free }
            if free > 0 { return free }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state -> Bool in
                        if state.free > 0 { return true }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                state.withLock { state in
                    let waiter = state.waiter
                    state.waiter = nil
                    return waiter
                }?.resume()
            }
        }
        return 0
    }

    func take(_ count: Int) {
        state.withLock { $0.free -= count }
    }

    func release() {
        state.withLock { state in
            state.free += 1
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }?.resume()
    }
}
