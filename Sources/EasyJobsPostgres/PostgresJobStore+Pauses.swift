import EasyJobsCore
import EasyJobsStore
import Foundation
import PostgresNIO

/// Pauses of hosts and queues, and the leased locks managers coordinate with.
extension PostgresJobStore {
    /// Of managers racing for a free or expired lock, one inserts or updates the row; the
    /// others wait for its row lock, then evaluate the condition against the new owner and
    /// return no row.
    public func acquireLock(name: String, owner: String, until: Date, now: Date) async throws -> Bool {
        try await query(
            "take a lock", context: ["lock": name],
            """
            INSERT INTO locks (name, owner, expires_at) VALUES (\(name), \(owner), \(until.timeIntervalSince1970))
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
            WHERE locks.owner = excluded.owner OR locks.expires_at < \(now.timeIntervalSince1970)
            RETURNING name
            """
        ).count == 1
    }

    public func setPaused(_ kind: PauseKind, name: String, paused: Bool) async throws {
        let query: PostgresQuery =
            if paused {
                "INSERT INTO paused (kind, name) VALUES (\(kind.rawValue), \(name)) ON CONFLICT DO NOTHING"
            } else {
                "DELETE FROM paused WHERE kind = \(kind.rawValue) AND name = \(name)"
            }
        _ = try await self.query("pause work", context: [kind.rawValue: name], query)
        try await notifyNow([.pausesChanged])
    }

    public func paused() async throws -> [PauseKind: Set<String>] {
        var paused: [PauseKind: Set<String>] = [:]
        for row in try await query("read pauses", "SELECT kind, name FROM paused") {
            let columns = Columns(row)
            // A kind this version does not know (written by a newer one) pauses nothing here.
            if let kind = PauseKind(rawValue: try columns["kind"]) { paused[kind, default: []].insert(try columns["name"]) }
        }
        return paused
    }
}
