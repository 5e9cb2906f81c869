import EasyJobsCore
import Foundation
import GRDB

/// Host registrations.
extension SQLiteJobStore {
    /// Inserts the host, or replaces every field of the stored one (including
    /// `registeredAt`: the caller decides whether a re-registration keeps the first date).
    public func saveHost(_ host: HostRecord) async throws {
        let plugins = try Self.encodeJSON(host.plugins)
        let refused = try Self.encodeJSON(host.refused)
        let queues = try Self.encodeJSON(host.queues)
        try await write("save a host", context: ["host_id": host.id]) { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO hosts (id, name, queue, queues, max_tasks, plugins, refused, registered_at, last_seen, session_hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET
                        name = excluded.name, queue = excluded.queue, queues = excluded.queues, max_tasks = excluded.max_tasks,
                        plugins = excluded.plugins, refused = excluded.refused,
                        registered_at = excluded.registered_at, last_seen = excluded.last_seen, session_hash = excluded.session_hash
                    """)
            try statement.execute(arguments: [
                host.id, host.name, host.queue, queues, host.maxTasks, plugins, refused,
                host.registeredAt.timeIntervalSince1970, host.lastSeen.timeIntervalSince1970, host.sessionHash,
            ])
        }
    }

    public func touchHost(id: String, at date: Date) async throws -> Bool {
        try await write("update a host's last-seen time", context: ["host_id": id]) { db in
            try db.cachedStatement(sql: "UPDATE hosts SET last_seen = ? WHERE id = ?")
                .execute(arguments: [date.timeIntervalSince1970, id])
            return db.changesCount > 0
        }
    }

    /// All hosts, ordered by id so listings are stable.
    public func hosts() async throws -> [HostRecord] {
        try await read("list hosts") { db in
            try Self.fetchHosts(db, sql: "SELECT \(Self.hostColumns) FROM hosts ORDER BY id", arguments: [])
        }
    }

    public func host(id: String) async throws -> HostRecord? {
        try await read("read a host", context: ["host_id": id]) { db in
            try Self.fetchHosts(db, sql: "SELECT \(Self.hostColumns) FROM hosts WHERE id = ?", arguments: [id]).first
        }
    }

    static let hostColumns = "id, name, queue, queues, max_tasks, plugins, refused, registered_at, last_seen, session_hash"

    static func fetchHosts(_ db: Database, sql: String, arguments: StatementArguments) throws -> [HostRecord] {
        let decoder = JSONDecoder()
        var hosts: [HostRecord] = []
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        while let row = try rows.next() {
            let plugins: String = row["plugins"]
            let refused: String = row["refused"]
            let queues: String? = row["queues"]
            hosts.append(
                HostRecord(
                    id: row["id"], name: row["name"], queue: row["queue"],
                    queues: try queues.map { try decoder.decode([QueueWeight].self, from: Data($0.utf8)) }, maxTasks: row["max_tasks"],
                    plugins: try decoder.decode([PluginInfo].self, from: Data(plugins.utf8)),
                    refused: try decoder.decode([RefusedPlugin].self, from: Data(refused.utf8)),
                    registeredAt: Date(timeIntervalSince1970: row["registered_at"]),
                    lastSeen: Date(timeIntervalSince1970: row["last_seen"]),
                    sessionHash: row["session_hash"]))
        }
        return hosts
    }
}
