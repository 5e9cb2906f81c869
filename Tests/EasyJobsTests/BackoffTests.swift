import EasyJobsCore
import Testing

/// The one backoff every retry loop of the host uses (issue 15).
@Suite struct BackoffTests {
    @Test func doublesUpToTheMaximumAndStartsOverAfterAReset() {
        var backoff = Backoff(initial: .milliseconds(50), maximum: .milliseconds(300))
        #expect(
            (0..<6).map { _ in backoff.next() } == [
                .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(300), .milliseconds(300), .milliseconds(300),
            ])
        backoff.reset()
        #expect(backoff.next() == .milliseconds(50))
        #expect(backoff.current == .milliseconds(100))
    }

    @Test func aMaximumBelowTheStartIsTheStart() {
        var backoff = Backoff(initial: .seconds(1), maximum: .milliseconds(10))
        #expect(backoff.next() == .seconds(1))
        #expect(backoff.next() == .seconds(1))
    }

    @Test func secondsAreWrittenShort() {
        #expect(Duration.milliseconds(50).secondsText == "0.05")
        #expect(Duration.seconds(2).secondsText == "2")
    }
}
