import EasyJobsCore

/// Counts free run slots (`--max-tasks`) and lets the claim loop wait for one.
final class Capacity: Sendable {
    private let free: ConditionWaiter<Int, Unkeyed>

    init(slots: Int) {
        free = ConditionWaiter(slots)
    }

    /// Waits until at least one slot is free and returns how many are; returns 0 when cancelled.
    func waitForFree() async -> Int {
        await free.wait { $0 > 0 ? $0 : nil } ?? 0
    }

    func take(_ count: Int) {
        free.withLock { $0 -= count }
    }

    func release() {
        free.update { $0 += 1 }
    }
}
