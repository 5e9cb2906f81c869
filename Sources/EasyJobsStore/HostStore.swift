import Foundation

/// The hosts' registrations, so a restarted manager knows the tasks at once and a host's
/// session token holds on every manager.
public protocol HostStore: Sendable {
    /// Saves what a host offers and when it was last seen.
    func saveHost(_ host: HostRecord) async throws

    /// Updates a host's last-seen time; returns false when the host is unknown.
    func touchHost(id: String, at: Date) async throws -> Bool

    /// Every host, by id.
    func hosts() async throws -> [HostRecord]

    /// One host, or `nil`: how a manager learns of a host that registered with another one.
    func host(id: String) async throws -> HostRecord?
}
