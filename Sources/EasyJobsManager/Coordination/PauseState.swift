import EasyJobsCore
import EasyJobsStore
import Synchronization

/// Hosts (by name, so the state outlives a host's restart) and queues that claim nothing new.
/// Kept in the store; this is the copy every claim reads.
public final class PauseState: Sendable {
    private let state: Mutex<[PauseKind: Set<String>]>
    /// Bumped by every change made here: a copy read from the store before a change must not
    /// undo it (a peer sync that read the store just before a pause was stored).
    private let changes = Mutex<UInt64>(0)

    public init(_ paused: [PauseKind: Set<String>] = [:]) {
        state = Mutex(paused)
    }

    /// Read before reading the store for ``replace(with:readAfter:)``.
    public var changeCount: UInt64 { changes.withLock { $0 } }

    public func isPaused(host name: String, queue: String) -> Bool {
        state.withLock { ($0[.host]?.contains(name) ?? false) || ($0[.queue]?.contains(queue) ?? false) }
    }

    public func set(_ kind: PauseKind, name: String, paused: Bool) {
        changes.withLock { count in
            count &+= 1
            state.withLock { state in
                if paused { state[kind, default: []].insert(name) } else { state[kind]?.remove(name) }
            }
        }
    }

    /// Replaces the copy with what the store holds (another manager may have changed it),
    /// unless this copy changed since `readAfter` (``changeCount`` before the store was read):
    /// then what was read may predate that change, and the next sync brings both.
    public func replace(with paused: [PauseKind: Set<String>], readAfter: UInt64) {
        changes.withLock { count in
            guard count == readAfter else { return }
            state.withLock { $0 = paused }
        }
    }

    public func names(of kind: PauseKind) -> [String] {
        state.withLock { ($0[kind] ?? []).sorted() }
    }
}
