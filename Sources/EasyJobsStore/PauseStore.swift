import Foundation

/// What a pause applies to.
public enum PauseKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// A host, by name: every process registered under that name.
    case host
    /// A queue: every host serving it.
    case queue
}

/// Paused hosts and queues: they finish what they run and claim nothing new. Kept in the store
/// so a pause survives a restart and holds on every manager.
public protocol PauseStore: Sendable {
    /// Pauses or resumes a host (by name) or a queue.
    func setPaused(_ kind: PauseKind, name: String, paused: Bool) async throws

    /// Everything paused, by kind.
    func paused() async throws -> [PauseKind: Set<String>]
}
