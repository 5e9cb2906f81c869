import EasyJobsCore
import Foundation
import GRDB

/// Schedules and their fires, leased locks, and paused hosts and queues.
extension SQLiteJobStore {
    public func syncSchedule(_ schedule: ScheduleRecord) async throws {
        let args = String(decoding: JSONValue.object(schedule.defaultArgs).encoded(), as: UTF8.self)
        try await write("save a schedule", context: ["task": schedule.task]) { db in
            try db.execute(
                sql: """
                    INSERT INTO schedules (queue, task, expression, time_zone, catch_up, default_args, paused, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, 0, ?)
                    ON CONFLICT (queue, task) DO UPDATE SET
                        expression = excluded.expression, time_zone = excluded.time_zone,
                        catch_up = excluded.catch_up, default_args = excluded.default_args
                    """,
                arguments: [
                    schedule.queue, schedule.task, schedule.expression, schedule.timeZone, schedule.catchUp.rawValue, args,
                    schedule.createdAt.timeIntervalSince1970,
                ])
        }
    }

    public func schedules() async throws -> [ScheduleRecord] {
        try await read("list schedules") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT queue, task, expression, time_zone, catch_up, default_args, paused, created_at, last_fire_at, last_job_id
                    FROM schedules ORDER BY queue, task
                    """
            ).map { row in
                let args: String = row["default_args"]
                let last: Double? = row["last_fire_at"]
                return ScheduleRecord(
                    queue: row["queue"], task: row["task"], expression: row["expression"], timeZone: row["time_zone"],
                    catchUp: CatchUpPolicy(rawValue: row["catch_up"]) ?? .once,
                    defaultArgs: try JSONValue.parse(args).objectValue ?? [:], paused: row["paused"],
                    createdAt: Date(timeIntervalSince1970: row["created_at"]), lastFireAt: last.map(Date.init(timeIntervalSince1970:)),
                    lastJobID: row["last_job_id"])
            }
        }
    }

    public func fire(queue: String, task: String, at time: Date, previous: Date?, jobs: [NewJob]) async throws -> Bool {
        let rows = Self.rows(jobs)
        return try await write("fire a schedule", context: ["task": task]) { db in
            // Compare-and-set on the last fire time: a second manager that read the same state loses.
            try db.execute(
                sql: """
                    UPDATE schedules SET last_fire_at = ?, last_job_id = COALESCE(?, last_job_id)
                    WHERE queue = ? AND task = ? AND COALESCE(last_fire_at, -1) = ?
                    """, arguments: [time.timeIntervalSince1970, jobs.first?.id, queue, task, previous?.timeIntervalSince1970 ?? -1])
            guard db.changesCount == 1 else { return false }
            try Self.insert(rows, db)
            return true
        }
    }

    public func setSchedulePaused(queue: String, task: String, paused: Bool) async throws -> Bool {
        try await write("pause a schedule", context: ["task": task]) { db in
            try db.execute(sql: "UPDATE schedules SET paused = ? WHERE queue = ? AND task = ?", arguments: [paused, queue, task])
            return db.changesCount == 1
        }
    }

    public func deleteSchedule(queue: String, task: String) async throws -> Bool {
        try await write("delete a schedule", context: ["task": task]) { db in
            try db.execute(sql: "DELETE FROM schedules WHERE queue = ? AND task = ?", arguments: [queue, task])
            return db.changesCount == 1
        }
    }

    public func acquireLock(name: String, owner: String, until: Date, now: Date) async throws -> Bool {
        try await write("take a lock", context: ["lock": name]) { db in
            try db.execute(
                sql: """
                    INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                    WHERE locks.owner = excluded.owner OR locks.expires_at < ?
                    """, arguments: [name, owner, until.timeIntervalSince1970, now.timeIntervalSince1970])
            return db.changesCount == 1
        }
    }

    public func setPaused(_ kind: PauseKind, name: String, paused: Bool) async throws {
        try await write("pause work", context: [kind.rawValue: name]) { db in
            if paused {
                try db.execute(sql: "INSERT INTO paused (kind, name) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [kind.rawValue, name])
            } else {
                try db.execute(sql: "DELETE FROM paused WHERE kind = ? AND name = ?", arguments: [kind.rawValue, name])
            }
        }
    }

    public func paused() async throws -> [PauseKind: Set<String>] {
        try await read("read pauses") { db in
            var paused: [PauseKind: Set<String>] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, name FROM paused") {
                // A kind this version does not know (written by a newer one) pauses nothing here.
                if let kind = PauseKind(rawValue: row["kind"]) { paused[kind, default: []].insert(row["name"]) }
            }
            return paused
        }
    }
}
