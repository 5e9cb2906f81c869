@testable import EasyJobsHost
import Testing

/// The one wait of the host's claim loop and reporter (issue 15): woken by updates, never
/// missing one, ended by cancellation.
@Suite struct ConditionWaiterTests {
    @Test func aWaiterReturnsOnceAnUpdateMakesItsConditionTrue() async {
        let slots = ConditionWaiter(0)
        async let free = slots.wait { $0 > 0 ? $0 : nil }
        try? await Task.sleep(for: .milliseconds(50))
        slots.update { $0 += 2 }
        #expect(await free == 2)
    }

    @Test func aConditionAlreadyTrueReturnsAtOnceAndMayChangeTheState() async {
        let queue = ConditionWaiter([1, 2, 3])
        let first = await queue.wait { items -> Int? in items.isEmpty ? nil : items.removeFirst() }
        #expect(first == 1)
        #expect(queue.withLock { $0 } == [2, 3])
    }

    @Test func cancellationEndsTheWaitWithNil() async {
        let never = ConditionWaiter(false)
        let waiting = Task { await never.wait { $0 ? true : nil } }
        try? await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        #expect(await waiting.value == nil)
    }

    @Test func manyUpdatesFromManyTasksAreAllSeen() async {
        let counter = ConditionWaiter(0)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await counter.wait { $0 >= 1_000 ? $0 : nil } }
            for _ in 0..<1_000 { group.addTask { counter.update { $0 += 1 } } }
        }
        #expect(counter.withLock { $0 } == 1_000)
    }
}
