import EasyJobsCore
import EasyJobsStore
import Foundation
import Testing

@testable import EasyJobsManager

/// The registry's copy of the hosts, merged with what the store holds.
@Suite struct TaskRegistryTests {
    /// Regression (EndToEndTests.aRestartedManagerKeepsQueuedJobsAndResults failed once): the
    /// peer sync reads the hosts back from the store every second, and a registration date
    /// stored as seconds since 1970 came back a hair later in a quarter of cases, which counted
    /// as a new registration and ended the goodbye of a host that had left.
    @Test func aHostThatLeftStaysGoneWhenItsStoredRecordIsReadBack() throws {
        // A date whose trip through seconds since 1970 comes back later, as the store returns it.
        let registeredAt = try #require(
            (0..<10_000).lazy.map { Date(timeIntervalSinceReferenceDate: 786_000_000.123_456 + Double($0) * 0.000_013) }.first {
                Date(timeIntervalSince1970: $0.timeIntervalSince1970) > $0
            })
        let plugin = PluginInfo(name: "p", version: "1", sha256: "0", abi: "1.1", tasks: [TaskSpec(name: "work")])
        let host = HostRecord(
            id: "h1", name: "h1", queue: "q", maxTasks: 4, plugins: [plugin], refused: [], registeredAt: registeredAt, lastSeen: registeredAt)
        let registry = TaskRegistry()
        registry.register(host)
        #expect(registry.isServed(queue: "q", task: "work", onlineSince: registeredAt.addingTimeInterval(-60)))
        registry.markLeaving(hostID: "h1")

        var stored = host
        stored.registeredAt = Date(timeIntervalSince1970: host.registeredAt.timeIntervalSince1970)
        stored.lastSeen = registeredAt.addingTimeInterval(1)
        #expect(registry.merge(stored: [stored]).isEmpty)
        #expect(registry.isLeaving(hostID: "h1"))
        #expect(!registry.isServed(queue: "q", task: "work", onlineSince: registeredAt.addingTimeInterval(-60)))

        // A registration that is really later (the host came back) is taken in, and serves.
        var again = host
        again.registeredAt = registeredAt.addingTimeInterval(5)
        again.lastSeen = again.registeredAt
        #expect(registry.merge(stored: [again]).map(\.id) == ["h1"])
        #expect(!registry.isLeaving(hostID: "h1"))
        #expect(registry.isServed(queue: "q", task: "work", onlineSince: registeredAt))
    }
}
