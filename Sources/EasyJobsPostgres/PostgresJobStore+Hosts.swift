import EasyJobsCore
import EasyJobsStore
import Foundation
import PostgresNIO

/// Hosts: their registrations and when they were last seen.
extension PostgresJobStore {
    /// Inserts the host, or replaces every field of the stored one (including
    /// `registeredAt`: the caller decides whether a re-registration keeps the first date).
    public func saveHost(_ host: HostRecord) async throws {
        let plugins = try Self.encodeJSON(host.plugins)
        let refused = try Self.encodeJSON(host.refused)
        let queues = try Self.encodeJSON(host.queues)
        _ = try await query(
            "save a host", context: ["host_id": host.id],
            """
            INSERT INTO hosts (id, name, queue, queues, max_tasks, plugins, refused, registered_at, last_seen, session_hash)
            VALUES (\(host.id), \(host.name), \(host.queue), \(queues), \(host.maxTasks), \(plugins), \(refused),
                    \(host.registeredAt.timeIntervalSince1970), \(host.lastSeen.timeIntervalSince1970), \(host.sessionHash))
            ON CONFLICT (id) DO UPDATE SET
                name = excluded.name, queue = excluded.queue, queues = excluded.queues, max_tasks = excluded.max_tasks,
                plugins = excluded.plugins, refused = excluded.refused,
                registered_at = excluded.registered_at, last_seen = excluded.last_seen, session_hash = excluded.session_hash
            """)
        try await notifyNow([.hostsChanged])
    }

    public func touchHost(id: String, at date: Date) async throws -> Bool {
        try await !query(
            "update a host's last-seen time", context: ["host_id": id],
            "UPDATE hosts SET last_seen = \(date.timeIntervalSince1970) WHERE id = \(id) RETURNING id"
        ).isEmpty
    }

    /// All hosts, ordered by id so listings are stable.
    public func hosts() async throws -> [HostRecord] {
        try Self.decodeHosts(try await query("list hosts", "SELECT \(unescaped: Self.hostColumns) FROM hosts ORDER BY id"))
    }

    public func host(id: String) async throws -> HostRecord? {
        try Self.decodeHosts(
            try await query("read a host", context: ["host_id": id], "SELECT \(unescaped: Self.hostColumns) FROM hosts WHERE id = \(id)")
        ).first
    }

    static let hostColumns = "id, name, queue, queues, max_tasks, plugins, refused, registered_at, last_seen, session_hash"

    private static func decodeHosts(_ rows: [PostgresRow]) throws -> [HostRecord] {
        let decoder = JSONDecoder()
        return try rows.map { row in
            let columns = Columns(row)
            let plugins: String = try columns["plugins"]
            let refused: String = try columns["refused"]
            let queues: String? = try columns["queues"]
            return HostRecord(
                id: try columns["id"],
                name: try columns["name"],
                queue: try columns["queue"],
                queues: try queues.map { try decoder.decode([QueueWeight].self, from: Data($0.utf8)) },
                maxTasks: try columns["max_tasks"],
                plugins: try decoder.decode([PluginInfo].self, from: Data(plugins.utf8)),
                refused: try decoder.decode([RefusedPlugin].self, from: Data(refused.utf8)),
                registeredAt: Date(timeIntervalSince1970: try columns["registered_at"]),
                lastSeen: Date(timeIntervalSince1970: try columns["last_seen"]),
                sessionHash: try columns["session_hash"]
            )
        }
    }
}
