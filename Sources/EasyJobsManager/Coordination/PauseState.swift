import Synchronization

/// Hosts (by name, so the state outlives a host's restart) and queues that claim nothing new.
/// Kept in the store; this is the copy every claim reads.
public final class PauseState: Sendable {
    private let state: Mutex<[String: Set<String>]>

    public init(_ paused: [String: Set<String>] = [:]) {
        state = Mutex(paused)
    }

    public func isPaused(host name: String, queue: String) -> Bool {
        state.withLock { ($0["host"]?.contains(name) ?? false) || ($0["queue"]?.contains(queue) ?? false) }
    }

    public func set(kind: String, name: String, paused: Bool) {
        state.withLock { state in
            if paused { state[kind, default: []].insert(name) } else { state[kind]?.remove(name) }
        }
    }

    public func names(of kind: String) -> [String] {
        state.withLock { ($0[kind] ?? []).sorted() }
    }
}
