import EasyJobsCore
import Foundation

/// A host as stored: its registration and when it was last seen.
public struct HostRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    public var queue: String
    public var maxTasks: Int
    public var plugins: [PluginInfo]
    public var refused: [RefusedPlugin]
    public var registeredAt: Date
    public var lastSeen: Date
    /// SHA-256 (hex) of the session token issued at its last registration: host endpoints
    /// accept only that token for this host.
    public var sessionHash: String?

    public init(
        id: String, name: String, queue: String, maxTasks: Int, plugins: [PluginInfo], refused: [RefusedPlugin], registeredAt: Date, lastSeen: Date,
        sessionHash: String? = nil
    ) {
        self.sessionHash = sessionHash
        self.id = id
        self.name = name
        self.queue = queue
        self.maxTasks = maxTasks
        self.plugins = plugins
        self.refused = refused
        self.registeredAt = registeredAt
        self.lastSeen = lastSeen
    }
}
