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
        let poll = LongPoll(wait: 5, maxWait: 60, isClientConnected: { false })
        let answer: Int? = try await poll.run(version: { 0 }) { _ in
            looks.look()
        } wait: { _, _ in
        }
        #expect(answer == nil)
        #expect(looks.count.withLock { $0 } == 0)
    }

    @Test func itLooksAgainAfterEachWakeUpAndAnswersTheFirstFind() async throws {
        let looks = Looks()
        let poll = LongPoll(wait: 5, maxWait: 60, isClientConnected: { true })
        let answer: Int? = try await poll.run(version: { 0 }) { _ in
            let round = looks.look()
            return round == 3 ? round : nil
        } wait: { _, _ in
        }
        #expect(answer == 3)
    }

    @Test func pastTheDeadlineItLooksOnceMoreAsTheLastLook() async throws {
        let poll = LongPoll(wait: 0, maxWait: 60, isClientConnected: { true })
        let answer: String? = try await poll.run(version: { 0 }) { isLast in
            isLast ? "what there is" : nil
        } wait: { _, _ in
            Issue.record("a poll past its deadline must not wait")
        }
        #expect(answer == "what there is")
    }

    @Test func theWaitIsNeverLongerThanASliceNorPastTheDeadline() async throws {
        let waits = Mutex<[Duration]>([])
        let poll = LongPoll(wait: 0.2, maxWait: 60, isClientConnected: { true })
        let _: Int? = try await poll.run(version: { 7 }) { _ in
            nil
        } wait: { version, timeout in
            #expect(version == 7)
            waits.withLock { $0.append(timeout) }
            try? await Task.sleep(for: timeout)
        }
        let all = waits.withLock { $0 }
        #expect(!all.isEmpty)
        #expect(all.allSatisfy { $0 <= .milliseconds(200) && $0 <= LongPoll.slice })
    }
}
