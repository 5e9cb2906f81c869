import Foundation

/// Leased locks: one holder at a time among the managers sharing a store, taken over when the
/// holder stops renewing (it died). The scheduler holds one so that a single manager fires.
public protocol LockStore: Sendable {
    /// Takes or renews the lock `name` for `owner` until `until`; true when `owner` holds it.
    func acquireLock(name: String, owner: String, until: Date, now: Date) async throws -> Bool
}
