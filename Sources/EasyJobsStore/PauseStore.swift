import EasyJobsCore
import Foundation

/// Paused hosts and queues: they finish what they run and claim nothing new. Kept in the store
/// so a pause survives a restart and holds on every manager.
public protocol PauseStore: Sendable {
    /// Pauses or resumes a host (by name) or a queue.
    func setPaused(_ kind: PauseKind, name: String, paused: Bool) async throws

    /// Everything paused, by kind.
    func paused() async throws -> [PauseKind: Set<String>]
}
