import EasyJobsCore
import EasyJobsStore
import Foundation
import PostgresNIO

/// Schedules: their definitions and the compare-and-set that fires each time once.
extension PostgresJobStore {
    public func syncSchedule(_ schedule: ScheduleRecord) async throws {
        let args = String(decoding: JSONValue.object(schedule.defaultArgs).encoded(), as: UTF8.self)
        _ = try await query(
            "save a schedule", context: ["task": schedule.task],
            """
            INSERT INTO schedules (queue, task, expression, time_zone, catch_up, default_args, paused, created_at)
            VALUES (\(schedule.queue), \(schedule.task), \(schedule.expression), \(schedule.timeZone), \(schedule.catchUp.rawValue), \(args),
                    FALSE, \(schedule.createdAt.timeIntervalSince1970))
            ON CONFLICT (queue, task) DO UPDATE SET
                expression = excluded.expression, time_zone = excluded.time_zone,
                catch_up = excluded.catch_up, default_args = excluded.default_args
            """)
    }

    public func schedules() async throws -> [ScheduleRecord] {
        let rows = try await query(
            "list schedules",
            """
            SELECT queue, task, expression, time_zone, catch_up, default_args, paused, created_at, last_fire_at, last_job_id
            FROM schedules ORDER BY queue, task
            """)
        return try rows.map { row in
            let columns = Columns(row)
            let args: String = try columns["default_args"]
            let catchUp: String = try columns["catch_up"]
            return ScheduleRecord(
                queue: try columns["queue"], task: try columns["task"], expression: try columns["expression"], timeZone: try columns["time_zone"],
                catchUp: CatchUpPolicy(rawValue: catchUp) ?? .once,
                defaultArgs: try JSONValue.parse(args).objectValue ?? [:], paused: try columns["paused"],
                createdAt: Date(timeIntervalSince1970: try columns["created_at"]), lastFireAt: try columns.date("last_fire_at"),
                lastJobID: try columns["last_job_id"])
        }
    }

    /// Compare-and-set on the last fire time: of managers that read the same state, the first
    /// to update the row wins; the others wait for its row lock, then find the time changed
    /// and match nothing. The jobs are stored in the same transaction as the winning update.
    public func fire(queue: String, task: String, at time: Date, previous: Date?, jobs: [NewJob]) async throws -> Bool {
        try await transaction("fire a schedule", context: ["task": task]) { connection in
            let updated = try await connection.query(
                """
                UPDATE schedules SET last_fire_at = \(time.timeIntervalSince1970), last_job_id = COALESCE(\(jobs.first?.id), last_job_id)
                WHERE queue = \(queue) AND task = \(task) AND COALESCE(last_fire_at, -1) = \(previous?.timeIntervalSince1970 ?? -1)
                RETURNING task
                """, logger: self.logger
            ).collect()
            guard updated.count == 1 else { return false }
            try await Self.insert(jobs, connection, logger: self.logger)
            try await Self.notify(Self.events(ofNew: jobs), connection, logger: self.logger)
            return true
        }
    }

    public func setSchedulePaused(queue: String, task: String, paused: Bool) async throws -> Bool {
        try await query(
            "pause a schedule", context: ["task": task],
            "UPDATE schedules SET paused = \(paused) WHERE queue = \(queue) AND task = \(task) RETURNING task"
        ).count == 1
    }

    public func deleteSchedule(queue: String, task: String) async throws -> Bool {
        try await query(
            "delete a schedule", context: ["task": task], "DELETE FROM schedules WHERE queue = \(queue) AND task = \(task) RETURNING task"
        ).count == 1
    }
}
