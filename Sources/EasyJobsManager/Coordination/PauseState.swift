import EasyJobsCore
import EasyJobsStore
import Synchronization

/// Hosts (by name, so the state outlives a host's restart) and queues that claim nothing new.
/// Kept in the store; this is the copy every claim reads.
public final class PauseState: Sendable {
    private let state: Mutex<[PauseKind: Set<String>]>

    public init(_ paused: [PauseKind: Set<String>] = [:]) {
        state = Mutex(paused)
    }

    public func isPaused(host name: String, queue: String) -> Bool {
        state.withLock { ($0[.host]?.contains(name) ?? false) || ($0[.queue]?.contains(queue) ?? false) }
    }

    public func set(_ kind: PauseKind, name: String, paused: Bool) {
        state.withLock { state in
            if paused { state[kind, default: []].insert(name) } else { state[kind]?.remove(name) }
        }
    }

    /// Replaces the copy with what the store holds (another manager may have changed it).
    public func replace(with paused: [PauseKind: Set<String>]) {
        state.withLock { $0 = paused }
    }

    public func names(of kind: PauseKind) -> [String] {
        state.withLock { ($0[kind] ?? []).sorted() }
    }
}
