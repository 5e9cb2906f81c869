import EasyJobsCore
import Foundation

/// A host as stored: its registration and when it was last seen.
public struct HostRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    /// The first of ``queues``: where the host's schedules fire.
    public var queue: String
    /// Every queue the host serves, with its weight; never empty.
    public var queues: [QueueWeight]
    public var maxTasks: Int
    public var plugins: [PluginInfo]
    public var refused: [RefusedPlugin]
    public var registeredAt: Date
    public var lastSeen: Date
    /// SHA-256 (hex) of the session token issued at its last registration: host endpoints
    /// accept only that token for this host.
    public var sessionHash: String?

    public init(
        id: String, name: String, queue: String, queues: [QueueWeight]? = nil, maxTasks: Int, plugins: [PluginInfo], refused: [RefusedPlugin],
        registeredAt: Date, lastSeen: Date, sessionHash: String? = nil
    ) {
        self.sessionHash = sessionHash
        self.id = id
        self.name = name
        self.queue = queue
        self.queues = queues.flatMap { $0.isEmpty ? nil : $0 } ?? [QueueWeight(name: queue)]
        self.maxTasks = maxTasks
        self.plugins = plugins
        self.refused = refused
        self.registeredAt = registeredAt
        self.lastSeen = lastSeen
    }
}

extension HostRecord {
    /// Whether the host takes jobs of `queue`.
    public func serves(_ queue: String) -> Bool {
        queues.contains { $0.name == queue }
    }
}

extension HostRecord {
    /// Whether this record is a later registration of the host than `other`, rather than the
    /// same one read back from the store.
    ///
    /// More than a millisecond later: a date stored as seconds since 1970 and read back is not
    /// always the date it was (`Date` counts from 2001, and the conversion rounds), and a
    /// strict comparison took a quarter of round trips for a new registration, which ended
    /// the goodbye of a host that had left (a manager went on offering its tasks).
    public func isRegistered(after other: HostRecord) -> Bool {
        registeredAt.timeIntervalSince(other.registeredAt) > 0.001
    }
}
