import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging
import Testing

@testable import EasyJobsManager

/// A round of claims is planned, then run by the store, then completed: what happens between
/// the steps must not undo what the round promises.
@Suite struct ClaimRoundTests {
    /// Regression (PostgreSQL, CI): a host's poll planned its round while the queue was open;
    /// the queue was paused and a job enqueued; the round's claim statement, slow under load,
    /// saw that job and took it, and the job ran in a paused queue.
    @Test func aPauseThatComesWhileTheStoreClaimsHoldsTheJobBack() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-round-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteJobStore(path: directory.appendingPathComponent("easyjobs.sqlite").path)
        let options = ManagerOptions(port: 0, dataDirectory: directory, firesSchedules: false, peerSyncInterval: .zero)
        var logger = Logger(label: "easyjobs.manager.test")
        logger.logLevel = .warning
        let coordinator = Coordinator(
            store: store, registry: TaskRegistry(), tokens: try await ManagerApplication.jobTokens(store: store, options: options),
            options: options, logger: logger)
        let plugin = PluginInfo(name: "p", version: "1", sha256: "0", abi: "1.1", tasks: [TaskSpec(name: "work")])
        _ = try await coordinator.register(
            HostRegistration(hostID: "h1", name: "h1", queue: "q", maxTasks: 4, plugins: [plugin], refused: []), session: nil)
        let host = try #require(coordinator.registry.host(id: "h1"))

        let round = try #require(try await coordinator.planClaimRound(for: host, limit: 4))
        #expect(round.parts.map(\.queue) == ["q"])
        _ = try await coordinator.setPaused(.queue, name: "q", paused: true)
        let job = try await store.enqueue(NewJob(queue: "q", task: "work", args: [:]))
        let taken = try await round.parts.asyncMap { part in
            try await store.claim(queue: part.queue, tasks: part.tasks, hostID: "h1", limit: part.limit, leaseDuration: 30, now: .now)
        }
        #expect(taken.joined().map(\.id) == [job.id])  // the store saw it: the race this test stages

        #expect(try await coordinator.completeClaimRound(round, taken: taken).isEmpty)
        let back = try #require(try await store.job(id: job.id))
        // As if never claimed: a job that then expires was never started (CI caught a kept started_at).
        #expect(back.status == .queued && back.hostID == nil && back.attempts == 0 && back.startedAt == nil && back.leaseExpiresAt == nil)
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
