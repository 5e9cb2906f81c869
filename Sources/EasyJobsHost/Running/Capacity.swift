import EasyJobsCore

/// Counts free run slots (`--max-tasks`): a slot is free when no run holds it and no claim in
/// flight (a poll, or a report that asks for jobs) has reserved it.
final class Capacity: Sendable {
    private let free: ConditionWaiter<Int, Unkeyed>

    init(slots: Int) {
        free = ConditionWaiter(slots)
    }

    /// Waits until at least one slot is free and reserves every free one for a claim; returns
    /// how many, or 0 when cancelled (reserving none).
    func reserveAll() async -> Int {
        await free.wait { count -> Int? in
            guard count > 0 else { return nil }
            defer { count = 0 }
            return count
        } ?? 0
    }

    /// Takes `count` slots, free or not: a run that resumes after a call takes its slot back at once.
    func take(_ count: Int) {
        free.withLock { $0 -= count }
    }

    /// Settles a claim that reserved `reserved` slots and brought `filled` jobs: the slots it did
    /// not fill are free again; jobs beyond them (a manager should send none) take slots too.
    func settle(reserved: Int, filled: Int) {
        if filled > reserved { take(filled - reserved) } else { release(reserved - filled) }
    }

    /// Frees `count` slots: runs that ended, or reserved slots a claim did not fill.
    func release(_ count: Int = 1) {
        guard count > 0 else { return }
        free.update { $0 += count }
    }
}
