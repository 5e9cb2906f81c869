import EasyJobsCore
import EasyJobsManager
import Testing

/// The manager's copy of what is paused, as claims read it and peer syncs refresh it.
@Suite struct PauseStateTests {
    /// Regression (PostgreSQL, CI): a peer sync read the store just before a queue was paused
    /// here, then replaced the copy with what it had read, so the pause was undone and the
    /// queue's next job ran although it should have expired.
    @Test func aSyncReadBeforeAPauseDoesNotUndoIt() {
        let pauses = PauseState()
        let readAt = pauses.changeCount
        let readFromStore: [PauseKind: Set<String>] = [:]
        pauses.set(.queue, name: "reports", paused: true)
        pauses.replace(with: readFromStore, readAfter: readAt)
        #expect(pauses.isPaused(host: "any", queue: "reports"))
        #expect(pauses.names(of: .queue) == ["reports"])
    }

    @Test func aSyncReadAfterTheLastChangeBringsWhatPeersChanged() {
        let pauses = PauseState([.queue: ["reports"]])
        let readAt = pauses.changeCount
        pauses.replace(with: [.host: ["worker-2"]], readAfter: readAt)
        #expect(!pauses.isPaused(host: "worker-1", queue: "reports"))
        #expect(pauses.isPaused(host: "worker-2", queue: "mail"))
        #expect(pauses.names(of: .host) == ["worker-2"])
    }

    @Test func aResumeMadeDuringASyncIsKeptToo() {
        let pauses = PauseState([.host: ["worker-1"]])
        let readAt = pauses.changeCount
        let readFromStore: [PauseKind: Set<String>] = [.host: ["worker-1"]]
        pauses.set(.host, name: "worker-1", paused: false)
        pauses.replace(with: readFromStore, readAfter: readAt)
        #expect(!pauses.isPaused(host: "worker-1", queue: "mail"))
    }
}
