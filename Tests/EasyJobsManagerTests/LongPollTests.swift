@testable import EasyJobsManager
import Synchronization
import Testing

/// The one long-poll loop of claims, awaited jobs and host events (issue 15).
@Suite struct LongPollTests {
    final class Looks: Sendable {
        let count = Mutex(0)
        func look() -> Int {
            count.withLock {
                $0 += 1; return $0
            }
        }
    }

    @Test func aPollWhoseClientIsGoneNeverLooks() async throws {
        let looks = Looks()
        let poll = LongPoll(wait: 5, maxWait: .seconds(60), isClientConnected: { false })
        let answer: Int? = try await poll.run(version: { 0 }) { _ in
            looks.look()
        } wait: { _, _ in
        }
        #expect(answer == nil)
        #expect(looks.count.withLock { $0 } == 0)
    }

    @Test func itLooksAgainAfterEachWakeUpAndAnswersTheFirstFind() async throws {
        let looks = Looks()
        // A deadline far off: on a loaded machine the test's task may wait seconds for a thread.
        let poll = LongPoll(wait: 3_600, maxWait: .seconds(3_600), isClientConnected: { true })
        let answer: Int? = try await poll.run(version: { 0 }) { _ in
            let round = looks.look()
            return round == 3 ? round : nil
        } wait: { _, _ in
        }
        #expect(answer == 3)
    }

    @Test func pastTheDeadlineItLooksOnceMoreAsTheLastLook() async throws {
        let poll = LongPoll(wait: 0, maxWait: .seconds(60), isClientConnected: { true })
        let answer: String? = try await poll.run(version: { 0 }) { isLast in
            isLast ? "what there is" : nil
        } wait: { _, _ in
            Issue.record("a poll past its deadline must not wait")
        }
        #expect(answer == "what there is")
    }

    @Test func eachWaitIsOneSliceAtMost() async throws {
        let waits = Mutex<[Duration]>([])
        let looks = Looks()
        let poll = LongPoll(wait: 3_600, maxWait: .seconds(3_600), isClientConnected: { true })
        let answer: Int? = try await poll.run(version: { 7 }) { _ in
            let round = looks.look()
            return round == 4 ? round : nil
        } wait: { version, timeout in
            #expect(version == 7)
            waits.withLock { $0.append(timeout) }
        }
        #expect(answer == 4)
        #expect(waits.withLock { $0 } == [LongPoll.slice, LongPoll.slice, LongPoll.slice])
    }

    @Test func noWaitGoesPastTheDeadline() async throws {
        let waits = Mutex<[Duration]>([])
        let poll = LongPoll(wait: 0.2, maxWait: .seconds(60), isClientConnected: { true })
        let _: Int? = try await poll.run(version: { 0 }) { _ in
            nil
        } wait: { _, timeout in
            waits.withLock { $0.append(timeout) }
            try? await Task.sleep(for: timeout)
        }
        // (On a machine so loaded that the first look comes after the deadline, there is no wait.)
        #expect(waits.withLock { $0 }.allSatisfy { $0 <= .milliseconds(200) })
    }

    /// `Duration.seconds(_:)` traps on a NaN; a wait is the client's number.
    @Test(arguments: [Double.nan, -Double.infinity, -1])
    func aWaitThatIsNoWaitLooksOnceAsTheLastLook(_ wait: Double) async throws {
        let poll = LongPoll(wait: wait, maxWait: .seconds(60), isClientConnected: { true })
        let answer: String? = try await poll.run(version: { 0 }) { isLast in
            isLast ? "what there is" : nil
        } wait: { _, _ in
            Issue.record("a poll asked not to wait must not wait")
        }
        #expect(answer == "what there is")
    }

    @Test func anEndlessWaitIsTheLongestAllowed() {
        let poll = LongPoll(wait: .infinity, maxWait: .seconds(60), isClientConnected: { true })
        #expect(poll.deadline <= .now + .seconds(60))
        #expect(poll.deadline > .now + .seconds(30))
    }
}
