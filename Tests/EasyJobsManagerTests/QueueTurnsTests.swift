import EasyJobsCore
import EasyJobsManager
import Testing

/// How a host's claims share out among its weighted queues.
@Suite struct QueueTurnsTests {
    let weighted = [QueueWeight(name: "a", weight: 3), QueueWeight(name: "b")]

    @Test func oneSlotAtATimeFollowsTheWeightsInEveryStretch() {
        var turns = QueueTurns()
        let order = (0..<12).map { _ in turns.plan(1, over: weighted)[0].queue }
        #expect(order == ["a", "a", "b", "a", "a", "a", "b", "a", "a", "a", "b", "a"])
    }

    @Test func manySlotsAreSharedByWeightInTheOrderTheirTurnsCame() {
        var turns = QueueTurns()
        let plan = turns.plan(8, over: weighted)
        #expect(plan.map(\.queue) == ["a", "b"])
        #expect(plan.map(\.count) == [6, 2])
        let three = turns.plan(3, over: [QueueWeight(name: "x"), QueueWeight(name: "y"), QueueWeight(name: "z")])
        #expect(three.map(\.count) == [1, 1, 1])
    }

    @Test func aSingleQueueTakesEverySlotAndNoQueueTakesNone() {
        var turns = QueueTurns()
        #expect(turns.plan(5, over: [QueueWeight(name: "only", weight: 7)]).map(\.count) == [5])
        #expect(turns.plan(5, over: []).isEmpty)
    }

    @Test func queueFlagsAreReadAsNameAndWeight() throws {
        #expect(try QueueWeight(parsing: "critical:5") == QueueWeight(name: "critical", weight: 5))
        #expect(try QueueWeight(parsing: "default") == QueueWeight(name: "default", weight: 1))
        for bad in ["a:0", "a:1001", "a:x", ":3", ""] {
            #expect(throws: EasyJobsError.self) { try QueueWeight(parsing: bad) }
        }
    }
}
