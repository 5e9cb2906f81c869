import EasyJobsCore
import Foundation
import GRDB

/// A ``ManagerStore`` in one SQLite file, in WAL mode.
///
/// Reads run on a pool of reader connections concurrently with the single writer.
/// Every state change is one SQL statement inside one write transaction, so a claim
/// stays atomic even when several processes open the same file (SQLite then serialises
/// their writes on the file lock, waiting up to ``Options/busyTimeout``).
///
/// ```swift
/// let store = try SQLiteJobStore(path: ".easyjobs/easyjobs.sqlite")
/// let job = try await store.enqueue(NewJob(queue: "ETL", task: "extract", args: ["url": "http://stats"]))
/// ```
public final class SQLiteJobStore: ManagerStore, Sendable {
    /// Where the database lives.
    public let path: String
    public let options: Options
    private let pool: DatabasePool

    /// Opens (creating it and its directory if needed) the database at `path` and
    /// brings its schema up to date.
    ///
    /// - Throws: ``EasyJobsError`` with code `store_failure` when the file cannot be
    ///   opened or migrated.
    public init(path: String, options: Options = .init()) throws {
        self.path = path
        self.options = options

        var configuration = Configuration()
        configuration.label = "EasyJobs.SQLiteJobStore"
        configuration.maximumReaderCount = max(1, options.maximumReaderCount)
        // GRDB's default, stated because the schema may come to rely on it.
        configuration.foreignKeysEnabled = true
        let synchronous = options.synchronous.rawValue
        let busyMilliseconds = max(0, Int((options.busyTimeout * 1000).rounded()))
        configuration.prepareDatabase { db in
            // Per connection: these pragmas are not persisted in the file.
            try db.execute(sql: "PRAGMA busy_timeout = \(busyMilliseconds)")
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }

        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            pool = try DatabasePool(path: path, configuration: configuration)
            // DatabasePool forces `synchronous = NORMAL` on its writer after
            // `prepareDatabase` when it turns WAL on, so the option is applied again on the
            // writer, which lives as long as the pool.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                // Every claim and report rewrites the same few index pages: a writer cache that
                // holds the indexes' hot pages saves a read per page, and a larger WAL between
                // checkpoints writes a page rewritten many times back to the file once.
                try db.execute(sql: "PRAGMA cache_size = -\(options.writerCacheKiB)")
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(options.checkpointPages)")
            }
            try SQLiteMigrations.migrator.migrate(pool)
        } catch {
            throw Self.storeError(
                error, "open the database at \(path)\(Self.unwritableReason(path).map { " (\($0))" } ?? "")", context: ["path": path])
        }
    }

    /// Why SQLite cannot write at `path`, when the file system says so: SQLite's own message
    /// ("unable to open database file") names neither the file nor the cause.
    private static func unwritableReason(_ path: String) -> String? {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        // access(2) reports EROFS for a read-only mount even to root, which ignores mode bits.
        for candidate in [path, path + "-wal", path + "-shm", directory] where FileManager.default.fileExists(atPath: candidate) {
            if access(candidate, W_OK) != 0 {
                let reason = errno == EROFS ? "read-only file system" : String(cString: strerror(errno))
                return "\(candidate) is not writable: \(reason)"
            }
        }
        return nil
    }

    // MARK: - Jobs

    /// Stores queued jobs in one transaction. Fails with `store_failure` if a job with the
    /// same id exists; then none is stored.
    public func enqueue(_ jobs: [NewJob]) async throws {
        guard !jobs.isEmpty else { return }
        let rows = Self.rows(jobs)
        try await write("enqueue jobs", context: ["job_id": jobs[0].id, "count": "\(jobs.count)"]) { db in
            try Self.insert(rows, db)
        }
    }

    static func insert(_ rows: [StatementArguments], _ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO jobs (id, queue, task, args, status, attempts, created_at, origin, parent_id, max_attempts, dependencies, error, finished_at, scheduled_for)
                VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for row in rows {
            try statement.execute(arguments: row)
        }
    }

    static func rows(_ jobs: [NewJob]) -> [StatementArguments] {
        jobs.map { job in
            let created = job.createdAt.timeIntervalSince1970
            return [
                job.id, job.queue, job.task, String(decoding: JSONValue.object(job.args).encoded(), as: UTF8.self),
                job.status.rawValue, created, job.origin.kind.rawValue, job.origin.parentID, job.maxAttempts,
                job.dependencies, job.error, job.status == .failed ? created : nil, job.scheduledFor?.timeIntervalSince1970,
            ]
        }
    }

    // MARK: - Schedules, locks, pauses

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
                let args: String = row[5]
                let last: Double? = row[8]
                return ScheduleRecord(
                    queue: row[0], task: row[1], expression: row[2], timeZone: row[3],
                    catchUp: CatchUpPolicy(rawValue: row[4]) ?? .once,
                    defaultArgs: try JSONValue.parse(args).objectValue ?? [:], paused: row[6],
                    createdAt: Date(timeIntervalSince1970: row[7]), lastFireAt: last.map(Date.init(timeIntervalSince1970:)),
                    lastJobID: row[9])
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
                if let kind = PauseKind(rawValue: row[0]) { paused[kind, default: []].insert(row[1]) }
            }
            return paused
        }
    }

    public func finishedCounts(since: Date) async throws -> [String: [JobStatus: Int]] {
        try await read("count recent jobs") { db in
            var counts: [String: [JobStatus: Int]] = [:]
            // finished_at has no index: a scan of the finished jobs, acceptable for a dashboard refresh.
            for row in try Row.fetchAll(
                db, sql: "SELECT queue, status, COUNT(*) FROM jobs WHERE finished_at >= ? GROUP BY queue, status",
                arguments: [since.timeIntervalSince1970])
            {
                if let status = JobStatus(rawValue: row[1]) { counts[row[0], default: [:]][status] = row[2] }
            }
            return counts
        }
    }

    public func discard(jobID: String) async throws -> Bool {
        try await write("discard a job", context: ["job_id": jobID]) { db in
            try db.execute(
                sql: "DELETE FROM jobs WHERE id = ? AND status IN ('completed', 'failed', 'cancelled')", arguments: [jobID])
            guard db.changesCount == 1 else { return false }
            try db.execute(sql: "DELETE FROM job_logs WHERE job_id = ?", arguments: [jobID])
            return true
        }
    }

    public func counts(queue: String?) async throws -> [JobStatus: Int] {
        try await read("count jobs", context: ["queue": queue ?? "*"]) { db in
            let rows = try Row.fetchAll(
                db,
                sql: queue == nil
                    ? "SELECT status, COUNT(*) FROM jobs GROUP BY status"
                    : "SELECT status, COUNT(*) FROM jobs WHERE queue = ? GROUP BY status",
                arguments: queue.map { [$0] } ?? [])
            var counts: [JobStatus: Int] = [:]
            for row in rows {
                if let status = JobStatus(rawValue: row[0]) { counts[status] = row[1] }
            }
            return counts
        }
    }

    /// Moves up to `limit` of the oldest queued jobs of `queue` whose task is in `tasks`
    /// to running, leased to `hostID`, in one `UPDATE … RETURNING` statement.
    ///
    /// The jobs are found per task (``SQLiteClaimQuery``), so the claim costs the same
    /// whatever other tasks' backlog sits ahead of them. The last error of an earlier attempt
    /// is kept until the job finishes again. Returns the jobs in enqueue (FIFO) order.
    public func claim(
        queue: String, tasks: Set<String>, hostID: String, limit: Int, leaseDuration: TimeInterval, now: Date
    ) async throws -> [Job] {
        guard !tasks.isEmpty, limit > 0 else { return [] }
        let selection = SQLiteClaimQuery(queue: queue, tasks: tasks, limit: limit, now: now)
        let sql = """
            UPDATE jobs
            SET status = 'running', host_id = ?, lease_expires_at = ?, started_at = ?, attempts = attempts + 1, lease = lease + 1
            WHERE seq IN (\(selection.sql))
            RETURNING \(Self.jobColumns)
            """
        var arguments: StatementArguments = [hostID, now.addingTimeInterval(leaseDuration).timeIntervalSince1970, now.timeIntervalSince1970]
        arguments += selection.arguments
        return try await write("claim jobs", context: ["queue": queue, "host_id": hostID]) { [arguments] db in
            // RETURNING gives rows in no defined order; FIFO is restored from seq.
            try Self.fetchJobs(db, sql: sql, arguments: arguments).sorted { $0.seq < $1.seq }.map(\.job)
        }
    }

    public func releaseReady(jobID: String?) async throws -> [Job] {
        // One statement: the check that every dependency completed and the release are atomic.
        try await write("release ready jobs", context: ["job_id": jobID ?? "*"]) { db in
            if let jobID {
                return try Self.fetchJobs(
                    db,
                    sql: """
                        UPDATE jobs SET status = 'queued' WHERE id = ? AND \(Self.readyToRelease) RETURNING \(Self.jobColumns)
                        """, arguments: [jobID]
                ).map(\.job)
            }
            return try Self.fetchJobs(
                db,
                sql: """
                    UPDATE jobs SET status = 'queued' WHERE \(Self.readyToRelease) RETURNING \(Self.jobColumns)
                    """, arguments: []
            ).sorted { $0.seq < $1.seq }.map(\.job)
        }
    }

    public func cancelRequested(hostID: String) async throws -> [String] {
        try await read("read cancellations", context: ["host_id": hostID]) { db in
            try String.fetchAll(
                db.cachedStatement(sql: "SELECT id FROM jobs WHERE host_id = ? AND status = 'running' AND cancel_requested = 1"),
                arguments: [hostID])
        }
    }

    public func appendLogs(_ lines: [String: [JobLogLine]], maxLinesPerJob: Int) async throws {
        guard !lines.isEmpty else { return }
        try await write("append job logs") { db in
            let count = try db.cachedStatement(sql: "SELECT COUNT(*) FROM job_logs WHERE job_id = ?")
            let statement = try db.cachedStatement(sql: "INSERT INTO job_logs (job_id, stream, line, at) VALUES (?, ?, ?, ?)")
            for (jobID, jobLines) in lines {
                var stored = try Int.fetchOne(count, arguments: [jobID]) ?? 0
                for line in jobLines {
                    // The cap counts the marker: a job's log never holds more than maxLinesPerJob + 1 lines.
                    if stored > maxLinesPerJob { break }
                    let text = stored == maxLinesPerJob ? "… log truncated after \(maxLinesPerJob) lines" : line.line
                    try statement.execute(arguments: [jobID, line.stream.rawValue, text, line.at.timeIntervalSince1970])
                    stored += 1
                }
            }
        }
    }

    public func logs(jobID: String, limit: Int) async throws -> [JobLogLine] {
        try await read("read a job's log", context: ["job_id": jobID]) { db in
            try Row.fetchAll(
                db, sql: "SELECT stream, line, at FROM job_logs WHERE job_id = ? ORDER BY seq DESC LIMIT ?", arguments: [jobID, max(limit, 0)]
            ).reversed().map { row in
                JobLogLine(stream: JobLogLine.Stream(rawValue: row[0]) ?? .stdout, line: row[1], at: Date(timeIntervalSince1970: row[2]))
            }
        }
    }

    public func children(of parentID: String) async throws -> [Job] {
        try await read("list a job's children", context: ["job_id": parentID]) { db in
            try Self.fetchJobs(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE parent_id = ? ORDER BY seq", arguments: [parentID]).map(\.job)
        }
    }

    public func dependencyResults(of jobIDs: [String]) async throws -> [String: [String: JSONValue]] {
        guard !jobIDs.isEmpty else { return [:] }
        let sql = """
            SELECT parent_id, task, result FROM jobs
            WHERE parent_id IN (\(Self.placeholders(jobIDs.count))) AND origin = 'run_before' AND status = 'completed'
            """
        return try await read("read dependency results") { db in
            var results: [String: [String: JSONValue]] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(jobIDs)) {
                let parent: String = row[0]
                let text: String? = row[2]
                results[parent, default: [:]][row[1]] = try text.map(JSONValue.parse) ?? .null
            }
            return results
        }
    }

    public func release(hostID: String, jobs: [LeasedJob]?) async throws -> [Job] {
        let sql = """
            UPDATE jobs SET status = 'queued', host_id = NULL, lease_expires_at = NULL, attempts = MAX(attempts - 1, 0)
            WHERE host_id = ? AND status = 'running'
            """
        return try await write("release a host's jobs", context: ["host_id": hostID]) { db in
            guard let jobs else {
                return try Self.fetchJobs(db, sql: sql + " RETURNING \(Self.jobColumns)", arguments: [hostID]).map(\.job)
            }
            var released: [Job] = []
            for leased in jobs {
                released += try Self.fetchJobs(
                    db, sql: sql + " AND id = ? AND lease = ? RETURNING \(Self.jobColumns)", arguments: [hostID, leased.jobID, leased.lease]
                ).map(\.job)
            }
            return released
        }
    }

    /// Returns the renewed leases in the order they were given.
    public func renewLeases(hostID: String, jobs: [LeasedJob], until: Date) async throws -> [LeasedJob] {
        guard !jobs.isEmpty else { return [] }
        return try await write("renew leases", context: ["host_id": hostID]) { db in
            let statement = try db.cachedStatement(
                sql: """
                    UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease = ? AND host_id = ? AND status = 'running'
                    """)
            var renewed: [LeasedJob] = []
            for leased in jobs {
                try statement.execute(arguments: [until.timeIntervalSince1970, leased.jobID, leased.lease, hostID])
                if db.changesCount == 1 { renewed.append(leased) }
            }
            return renewed
        }
    }

    public func job(id: String) async throws -> Job? {
        try await read("read a job", context: ["job_id": id]) { db in
            try Self.fetchJobs(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", arguments: [id]).first?.job
        }
    }

    /// Sets `pulledAt` on a finished job the first time it is pulled; of concurrent pulls,
    /// exactly one is `first`.
    public func pull(id: String, now: Date) async throws -> (job: Job, first: Bool)? {
        try await write("pull a job", context: ["job_id": id]) { db in
            if let pulled = try Self.fetchJobs(
                db,
                sql: """
                    UPDATE jobs SET pulled_at = ?
                    WHERE id = ? AND status IN ('completed', 'failed', 'cancelled') AND pulled_at IS NULL
                    RETURNING \(Self.jobColumns)
                    """, arguments: [now.timeIntervalSince1970, id]
            ).first {
                return (pulled.job, true)
            }
            return try Self.fetchJobs(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", arguments: [id]).first.map { ($0.job, false) }
        }
    }

    /// Newest first. An empty `statuses` set matches nothing; a negative limit counts as 0.
    public func jobs(_ filter: JobFilter) async throws -> [Job] {
        var conditions: [String] = []
        var arguments = StatementArguments()
        if let queue = filter.queue {
            conditions.append("queue = ?")
            arguments += [queue]
        }
        if let task = filter.task {
            conditions.append("task = ?")
            arguments += [task]
        }
        if let statuses = filter.statuses {
            guard !statuses.isEmpty else { return [] }
            conditions.append("status IN (\(Self.placeholders(statuses.count)))")
            arguments += StatementArguments(statuses.map(\.rawValue))
        }
        if filter.excludePulled {
            conditions.append("pulled_at IS NULL")
        }
        if let since = filter.since {
            conditions.append("created_at >= ?")
            arguments += [since.timeIntervalSince1970]
        }
        arguments += [max(0, filter.limit), max(0, filter.offset)]
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(Self.jobColumns) FROM jobs \(whereClause) ORDER BY seq DESC LIMIT ? OFFSET ?"
        return try await read("list jobs") { [arguments] db in
            try Self.fetchJobs(db, sql: sql, arguments: arguments).map(\.job)
        }
    }

    // MARK: - Hosts

    /// Inserts the host, or replaces every field of the stored one (including
    /// `registeredAt`: the caller decides whether a re-registration keeps the first date).
    public func saveHost(_ host: HostRecord) async throws {
        let plugins = try Self.encodeJSON(host.plugins)
        let refused = try Self.encodeJSON(host.refused)
        try await write("save a host", context: ["host_id": host.id]) { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO hosts (id, name, queue, max_tasks, plugins, refused, registered_at, last_seen, session_hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET
                        name = excluded.name, queue = excluded.queue, max_tasks = excluded.max_tasks,
                        plugins = excluded.plugins, refused = excluded.refused,
                        registered_at = excluded.registered_at, last_seen = excluded.last_seen, session_hash = excluded.session_hash
                    """)
            try statement.execute(arguments: [
                host.id, host.name, host.queue, host.maxTasks, plugins, refused,
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

    static let hostColumns = "id, name, queue, max_tasks, plugins, refused, registered_at, last_seen, session_hash"

    private static func fetchHosts(_ db: Database, sql: String, arguments: StatementArguments) throws -> [HostRecord] {
        let decoder = JSONDecoder()
        var hosts: [HostRecord] = []
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        while let row = try rows.next() {
            let plugins: String = row["plugins"]
            let refused: String = row["refused"]
            hosts.append(
                HostRecord(
                    id: row["id"], name: row["name"], queue: row["queue"], maxTasks: row["max_tasks"],
                    plugins: try decoder.decode([PluginInfo].self, from: Data(plugins.utf8)),
                    refused: try decoder.decode([RefusedPlugin].self, from: Data(refused.utf8)),
                    registeredAt: Date(timeIntervalSince1970: row["registered_at"]),
                    lastSeen: Date(timeIntervalSince1970: row["last_seen"]),
                    sessionHash: row["session_hash"]))
        }
        return hosts
    }

    // MARK: - Database access

    func write<T: Sendable>(
        _ operation: String, context: [String: String] = [:], _ body: @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw Self.storeError(error, operation, context: context)
        }
    }

    func read<T: Sendable>(
        _ operation: String, context: [String: String] = [:], _ body: @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.storeError(error, operation, context: context)
        }
    }

    /// Turns database and decoding failures into `store_failure` errors that say what the
    /// store was doing; errors that already mean something to callers pass through.
    private static func storeError(_ error: any Error, _ operation: String, context: [String: String]) -> any Error {
        if error is EasyJobsError || error is CancellationError { return error }
        var context = context
        let detail: String
        if let error = error as? DatabaseError {
            context["sqlite_code"] = String(error.extendedResultCode.rawValue)
            if error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY,
                let jobID = context["job_id"]
            {
                return EasyJobsError(.storeFailure, "Could not \(operation): a job with id '\(jobID)' already exists", context: context)
            }
            detail = error.message ?? "\(error.resultCode)"
        } else {
            detail = "\(error)"
        }
        return EasyJobsError(.storeFailure, "Could not \(operation): \(detail)", context: context)
    }

    // MARK: - Row mapping

    /// The job columns in the order `decodeJob` reads them, by index, which avoids a
    /// column-name lookup per value.
    static let jobColumns = """
        seq, id, queue, task, args, status, attempts, result, error, \
        created_at, started_at, finished_at, host_id, lease_expires_at, pulled_at, \
        origin, parent_id, max_attempts, run_at, dependencies, cancel_requested, \
        plugin_name, plugin_version, plugin_sha256, scheduled_for, lease, lost_leases
        """

    static func fetchJobs(_ db: Database, sql: String, arguments: StatementArguments) throws -> [(seq: Int64, job: Job)] {
        let statement = try db.cachedStatement(sql: sql)
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        var jobs: [(seq: Int64, job: Job)] = []
        while let row = try rows.next() {
            jobs.append(try decodeJob(row))
        }
        return jobs
    }

    static func decodeJob(_ row: Row) throws -> (seq: Int64, job: Job) {
        let id: String = try row.decode(atIndex: 1)
        let args: String = try row.decode(atIndex: 4)
        guard case .object(let arguments) = try JSONValue.parse(args) else {
            throw EasyJobsError(.storeFailure, "The stored arguments of job '\(id)' are not a JSON object", context: ["job_id": id])
        }
        let statusText: String = try row.decode(atIndex: 5)
        guard let status = JobStatus(rawValue: statusText) else {
            throw EasyJobsError(.storeFailure, "Job '\(id)' has an unknown status '\(statusText)'", context: ["job_id": id])
        }
        let result: String? = try row.decode(atIndex: 7)
        let runAt: Double = try row.decode(atIndex: 18)
        let job = Job(
            id: id,
            queue: try row.decode(atIndex: 2),
            task: try row.decode(atIndex: 3),
            args: arguments,
            status: status,
            attempts: try row.decode(atIndex: 6),
            result: try result.map(JSONValue.parse),
            error: try row.decode(atIndex: 8),
            createdAt: Date(timeIntervalSince1970: try row.decode(atIndex: 9)),
            startedAt: try date(row, 10),
            finishedAt: try date(row, 11),
            hostID: try row.decode(atIndex: 12),
            leaseExpiresAt: try date(row, 13),
            pulledAt: try date(row, 14),
            origin: JobOrigin(JobOrigin.Kind(rawValue: try row.decode(atIndex: 15)) ?? .api, parent: try row.decode(atIndex: 16)),
            maxAttempts: try row.decode(atIndex: 17),
            runAt: runAt > 0 ? Date(timeIntervalSince1970: runAt) : nil,
            dependencies: try row.decode(atIndex: 19),
            cancelRequested: try row.decode(atIndex: 20),
            plugin: try Self.pluginRef(row),
            scheduledFor: try date(row, 24),
            lease: try row.decode(atIndex: 25),
            lostLeases: try row.decode(atIndex: 26)
        )
        return (try row.decode(atIndex: 0), job)
    }

    private static func pluginRef(_ row: Row) throws -> PluginRef? {
        guard let name: String = try row.decode(atIndex: 21) else { return nil }
        return PluginRef(name: name, version: try row.decode(atIndex: 22) ?? "", sha256: try row.decode(atIndex: 23) ?? "")
    }

    private static func date(_ row: Row, _ index: Int) throws -> Date? {
        let seconds: Double? = try row.decode(atIndex: index)
        return seconds.map { Date(timeIntervalSince1970: $0) }
    }

    private static func encodeJSON(_ value: some Encodable) throws -> String {
        try StoredJSON.encode(value)
    }

    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}

// MARK: - Reading stored JSON
