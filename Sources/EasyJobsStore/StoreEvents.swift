import Foundation

/// A change another manager sharing the store made, that this manager's waiting requests care
/// about: long polls of hosts and clients wake on it instead of at their next periodic look.
public enum StoreEvent: Sendable, Hashable {
    /// Jobs became claimable in `queue` (enqueued, retried, released).
    case workArrived(queue: String)
    /// A job ended.
    case jobFinished(id: String)
    /// A running job of `hostID` is to be cancelled.
    case cancelRequested(hostID: String)
    /// Host registrations or pauses changed.
    case hostsChanged
    case pausesChanged
}

/// A store shared by several managers that tells each of them what the others changed
/// (PostgreSQL's LISTEN/NOTIFY). Optional: every waiting request also looks again on its own
/// every half second, so a store without events is correct, only slower to wake.
public protocol StoreEventSource: Sendable {
    /// The events of every change committed to the store, this manager's own included, until
    /// the stream's consumer stops. A connection lost and regained may drop events in between,
    /// which the periodic looks cover.
    func events() -> AsyncStream<StoreEvent>
}

/// Secrets every manager of a store must agree on (the key of subprocess job tokens, so that a
/// child's report is accepted by whichever manager it reaches).
public protocol SharedKeyStore: Sendable {
    /// The key stored under `name`, storing `proposed` first if there is none. Of managers
    /// racing, all get the same key.
    func sharedKey(named name: String, proposed: Data) async throws -> Data
}
