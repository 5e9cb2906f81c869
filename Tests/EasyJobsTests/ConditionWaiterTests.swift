import EasyJobsCore
import Testing

/// The one wait of the host's claim loop and reporter and the manager's long polls (issue 15): woken by updates, never
/// missing one, ended by cancellation.
@Suite struct ConditionWaiterTests {
    @Test func aWaiterReturnsOnceAnUpdateMakesItsConditionTrue() async {
        let slots = ConditionWaiter<Int, Unkeyed>(0)
        async let free = slots.wait { $0 > 0 ? $0 : nil }
        try? await Task.sleep(for: .milliseconds(50))
        slots.update { $0 += 2 }
        #expect(await free == 2)
    }

    @Test func aConditionAlreadyTrueReturnsAtOnceAndMayChangeTheState() async {
        let queue = ConditionWaiter<[Int], Unkeyed>([1, 2, 3])
        let first = await queue.wait { items -> Int? in items.isEmpty ? nil : items.removeFirst() }
        #expect(first == 1)
        #expect(queue.withLock { $0 } == [2, 3])
    }

    @Test func cancellationEndsTheWaitWithNil() async {
        let never = ConditionWaiter<Bool, Unkeyed>(false)
        let waiting = Task { await never.wait { $0 ? true : nil } }
        try? await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        #expect(await waiting.value == nil)
    }

    @Test func manyUpdatesFromManyTasksAreAllSeen() async {
        let counter = ConditionWaiter<Int, Unkeyed>(0)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await counter.wait { $0 >= 1_000 ? $0 : nil } }
            for _ in 0..<1_000 { group.addTask { counter.update { $0 += 1 } } }
        }
        #expect(counter.withLock { $0 } == 1_000)
    }

    struct Keyed: Sendable {
        var ready = false
        var looks = 0
    }

    /// An update on one key wakes the waiters on that key only: the waiter on `b` looks once
    /// before and once after the update that makes it ready, not when `a` is updated.
    @Test func anUpdateWakesTheWaitersOfItsKeyOnly() async {
        let waiter = ConditionWaiter<Keyed, String>(Keyed())
        let done = Task {
            await waiter.wait(on: "b") { state -> Int? in
                state.looks += 1
                return state.ready ? state.looks : nil
            }
        }
        while waiter.withLock({ $0.looks }) == 0 { await Task.yield() }
        waiter.update(waking: "a") { _ in }
        try? await Task.sleep(for: .milliseconds(100))
        waiter.update(waking: "b") { $0.ready = true }
        #expect(await done.value == 2)
    }

    @Test func anUpdateOfNoKeyWakesEveryKey() async {
        let waiter = ConditionWaiter<Bool, String>(false)
        async let a = waiter.wait(on: "a") { $0 ? "a" : nil }
        async let b = waiter.wait(on: "b") { $0 ? "b" : nil }
        try? await Task.sleep(for: .milliseconds(50))
        waiter.update(waking: nil) { $0 = true }
        #expect(await [a, b] == ["a", "b"])
    }

    @Test func aTimedWaitEndsWithNilOnceItsTimeoutPasses() async {
        let never = ConditionWaiter<Bool, String>(false)
        let started = ContinuousClock.now
        #expect(await never.wait(on: "x", timeout: .milliseconds(100)) { $0 ? true : nil } == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(100))
    }

    @Test(.timeLimit(.minutes(1))) func aTimedWaitEndsAtTheUpdateThatMakesItTrue() async {
        let later = ConditionWaiter<Bool, String>(false)
        async let woken = later.wait(on: "x", timeout: .seconds(3_600)) { $0 ? true : nil }
        try? await Task.sleep(for: .milliseconds(50))
        later.update(waking: "x") { $0 = true }
        #expect(await woken == true)
    }
}
