import EasyJobsCore
import Foundation
import GRDB

/// A ``JobStore`` in one SQLite file, in WAL mode.
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
public final class SQLiteJobStore: JobStore, Sendable {
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
            }
            try SQLiteMigrations.migrator.migrate(pool)
        } catch {
            throw Self.storeError(error, "open the database", context: ["path": path])
        }
    }

    // MARK: - Jobs

    /// Stores a queued job. Fails with `store_failure` if a job with the same id exists.
    public func enqueue(_ job: NewJob) async throws -> Job {
        let args = try Self.encodeJSON(.object(job.args))
        try await write("enqueue a job", context: ["job_id": job.id]) { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO jobs (id, queue, task, args, status, attempts, created_at)
                VALUES (?, ?, ?, ?, 'queued', 0, ?)
                """)
            try statement.execute(arguments: [job.id, job.queue, job.task, args, job.createdAt.timeIntervalSince1970])
        }
        // Built here rather than read back: saves a statement on the hottest path.
        return Job(id: job.id, queue: job.queue, task: job.task, args: job.args, createdAt: job.createdAt)
    }

    /// Moves up to `limit` of the oldest queued jobs of `queue` whose task is in `tasks`
    /// to running, leased to `hostID`, in one `UPDATE … RETURNING` statement.
    ///
    /// The last error of an earlier attempt is kept until the job finishes again.
    /// Returns the jobs in enqueue (FIFO) order.
    public func claim(
        queue: String, tasks: Set<String>, hostID: String, limit: Int, leaseDuration: TimeInterval, now: Date
    ) async throws -> [Job] {
        guard !tasks.isEmpty, limit > 0 else { return [] }
        let sql = """
            UPDATE jobs
            SET status = 'running', host_id = ?, lease_expires_at = ?, started_at = ?, attempts = attempts + 1
            WHERE seq IN (
                SELECT seq FROM jobs
                WHERE queue = ? AND status = 'queued' AND task IN (\(Self.placeholders(tasks.count)))
                ORDER BY seq
                LIMIT ?
            )
            RETURNING \(Self.jobColumns)
            """
        var arguments: StatementArguments = [
            hostID, now.addingTimeInterval(leaseDuration).timeIntervalSince1970, now.timeIntervalSince1970, queue,
        ]
        arguments += StatementArguments(tasks)
        arguments += [limit]
        return try await write("claim jobs", context: ["queue": queue, "host_id": hostID]) { [arguments] db in
            // RETURNING gives rows in no defined order; FIFO is restored from seq.
            try Self.fetchJobs(db, sql: sql, arguments: arguments).sorted { $0.seq < $1.seq }.map(\.job)
        }
    }

    /// Records the outcome only while the job is running under `hostID`'s lease.
    /// A completed run clears the error of earlier attempts; a failed one clears any result.
    /// The host id is kept so a finished job still says where it ran.
    public func finish(jobID: String, hostID: String, outcome: JobOutcome, now: Date) async throws -> Job? {
        let status: JobStatus
        let result: String?
        let error: String?
        switch outcome {
        case .completed(let value):
            status = .completed
            result = try Self.encodeJSON(value)
            error = nil
        case .failed(let message):
            status = .failed
            result = nil
            error = message
        }
        return try await write("record a job outcome", context: ["job_id": jobID, "host_id": hostID]) { db in
            try Self.fetchJobs(db, sql: """
                UPDATE jobs
                SET status = ?, result = ?, error = ?, finished_at = ?, lease_expires_at = NULL
                WHERE id = ? AND status = 'running' AND host_id = ?
                RETURNING \(Self.jobColumns)
                """, arguments: [status.rawValue, result, error, now.timeIntervalSince1970, jobID, hostID]).first?.job
        }
    }

    /// Returns the renewed ids in the order they were given.
    public func renewLeases(hostID: String, jobIDs: [String], until: Date) async throws -> [String] {
        guard !jobIDs.isEmpty else { return [] }
        let sql = """
            UPDATE jobs SET lease_expires_at = ?
            WHERE host_id = ? AND status = 'running' AND id IN (\(Self.placeholders(jobIDs.count)))
            RETURNING id
            """
        var arguments: StatementArguments = [until.timeIntervalSince1970, hostID]
        arguments += StatementArguments(jobIDs)
        let renewed = try await write("renew leases", context: ["host_id": hostID]) { [arguments] db in
            try Set(String.fetchAll(db.cachedStatement(sql: sql), arguments: arguments))
        }
        return jobIDs.filter { renewed.contains($0) }
    }

    /// Requeues running jobs whose lease ended strictly before `now`, keeping their attempt
    /// count; returns them as they are after the update, in FIFO order.
    public func requeueExpired(now: Date) async throws -> [Job] {
        try await write("requeue expired jobs") { db in
            try Self.fetchJobs(db, sql: """
                UPDATE jobs SET status = 'queued', host_id = NULL, lease_expires_at = NULL
                WHERE status = 'running' AND lease_expires_at < ?
                RETURNING \(Self.jobColumns)
                """, arguments: [now.timeIntervalSince1970]).sorted { $0.seq < $1.seq }.map(\.job)
        }
    }

    public func job(id: String) async throws -> Job? {
        try await read("read a job", context: ["job_id": id]) { db in
            try Self.fetchJobs(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", arguments: [id]).first?.job
        }
    }

    /// Sets `pulledAt` on a finished job the first time it is pulled.
    ///
    /// An already pulled job comes back unchanged, so a non-nil `pulledAt` that is not
    /// `now` tells the caller the result was consumed before.
    public func pull(id: String, now: Date) async throws -> Job? {
        try await write("pull a job", context: ["job_id": id]) { db in
            // The first pull of a finished job (the common case) takes one statement.
            if let pulled = try Self.fetchJobs(db, sql: """
                UPDATE jobs SET pulled_at = ?
                WHERE id = ? AND status IN ('completed', 'failed') AND pulled_at IS NULL
                RETURNING \(Self.jobColumns)
                """, arguments: [now.timeIntervalSince1970, id]).first
            {
                return pulled.job
            }
            return try Self.fetchJobs(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", arguments: [id]).first?.job
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
        arguments += [max(0, filter.limit)]
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(Self.jobColumns) FROM jobs \(whereClause) ORDER BY seq DESC LIMIT ?"
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
            let statement = try db.cachedStatement(sql: """
                INSERT INTO hosts (id, name, queue, max_tasks, plugins, refused, registered_at, last_seen)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET
                    name = excluded.name, queue = excluded.queue, max_tasks = excluded.max_tasks,
                    plugins = excluded.plugins, refused = excluded.refused,
                    registered_at = excluded.registered_at, last_seen = excluded.last_seen
                """)
            try statement.execute(arguments: [
                host.id, host.name, host.queue, host.maxTasks, plugins, refused,
                host.registeredAt.timeIntervalSince1970, host.lastSeen.timeIntervalSince1970,
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
            let statement = try db.cachedStatement(sql: """
                SELECT id, name, queue, max_tasks, plugins, refused, registered_at, last_seen
                FROM hosts ORDER BY id
                """)
            let decoder = JSONDecoder()
            var hosts: [HostRecord] = []
            let rows = try Row.fetchCursor(statement)
            while let row = try rows.next() {
                let plugins: String = try row.decode(atIndex: 4)
                let refused: String = try row.decode(atIndex: 5)
                hosts.append(HostRecord(
                    id: try row.decode(atIndex: 0),
                    name: try row.decode(atIndex: 1),
                    queue: try row.decode(atIndex: 2),
                    maxTasks: try row.decode(atIndex: 3),
                    plugins: try decoder.decode([PluginInfo].self, from: Data(plugins.utf8)),
                    refused: try decoder.decode([RefusedPlugin].self, from: Data(refused.utf8)),
                    registeredAt: Date(timeIntervalSince1970: try row.decode(atIndex: 6)),
                    lastSeen: Date(timeIntervalSince1970: try row.decode(atIndex: 7))
                ))
            }
            return hosts
        }
    }

    // MARK: - Database access

    private func write<T: Sendable>(
        _ operation: String, context: [String: String] = [:], _ body: @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw Self.storeError(error, operation, context: context)
        }
    }

    private func read<T: Sendable>(
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
    private static let jobColumns = """
        seq, id, queue, task, args, status, attempts, result, error, \
        created_at, started_at, finished_at, host_id, lease_expires_at, pulled_at
        """

    private static func fetchJobs(_ db: Database, sql: String, arguments: StatementArguments) throws -> [(seq: Int64, job: Job)] {
        let statement = try db.cachedStatement(sql: sql)
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        var jobs: [(seq: Int64, job: Job)] = []
        while let row = try rows.next() {
            jobs.append(try decodeJob(row))
        }
        return jobs
    }

    private static func decodeJob(_ row: Row) throws -> (seq: Int64, job: Job) {
        let id: String = try row.decode(atIndex: 1)
        let args: String = try row.decode(atIndex: 4)
        guard case .object(let arguments) = try StoredJSON.parse(args) else {
            throw EasyJobsError(.storeFailure, "The stored arguments of job '\(id)' are not a JSON object", context: ["job_id": id])
        }
        let statusText: String = try row.decode(atIndex: 5)
        guard let status = JobStatus(rawValue: statusText) else {
            throw EasyJobsError(.storeFailure, "Job '\(id)' has an unknown status '\(statusText)'", context: ["job_id": id])
        }
        let result: String? = try row.decode(atIndex: 7)
        let job = Job(
            id: id,
            queue: try row.decode(atIndex: 2),
            task: try row.decode(atIndex: 3),
            args: arguments,
            status: status,
            attempts: try row.decode(atIndex: 6),
            result: try result.map(StoredJSON.parse),
            error: try row.decode(atIndex: 8),
            createdAt: Date(timeIntervalSince1970: try row.decode(atIndex: 9)),
            startedAt: try date(row, 10),
            finishedAt: try date(row, 11),
            hostID: try row.decode(atIndex: 12),
            leaseExpiresAt: try date(row, 13),
            pulledAt: try date(row, 14)
        )
        return (try row.decode(atIndex: 0), job)
    }

    private static func date(_ row: Row, _ index: Int) throws -> Date? {
        let seconds: Double? = try row.decode(atIndex: index)
        return seconds.map { Date(timeIntervalSince1970: $0) }
    }

    private static func encodeJSON(_ value: JSONValue) throws -> String {
        do {
            return String(decoding: try value.encoded(), as: UTF8.self)
        } catch {
            throw EasyJobsError(.storeFailure, "Could not encode a JSON value: \(error)")
        }
    }

    private static func encodeJSON(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw EasyJobsError(.storeFailure, "Could not encode a JSON value: \(error)")
        }
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}

// MARK: - Reading stored JSON

/// Parses the JSON text the store wrote (`args`, `result`) into a ``JSONValue``.
///
/// `JSONValue.decode` goes through `JSONDecoder`, whose `JSONValue.init(from:)` tries
/// each type in turn and pays for a thrown error on every miss: about 150 µs for a
/// two-key object, which made JSON decoding most of the cost of a claim or a finish.
/// This parser reads the bytes once, in a few microseconds. It follows `JSONValue`'s
/// rule for numbers: without a fraction or an exponent a number is an `int` (unless it
/// does not fit, then a `double`).
enum StoredJSON {
    static func parse(_ text: String) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { bytes in
            var parser = Parser(bytes: bytes)
            parser.skipWhitespace()
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.index == bytes.count else { throw parser.failure("unexpected characters after the value") }
            return value
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        /// Deep enough for any real argument, shallow enough not to exhaust the stack.
        private static let maximumDepth = 512

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < Self.maximumDepth else { throw failure("nesting too deep") }
            guard index < bytes.count else { throw failure("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            default: return try number()
            }
        }

        private mutating func object(depth: Int) throws -> JSONValue {
            index += 1
            var object: [String: JSONValue] = [:]
            skipWhitespace()
            if try peek() == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            while true {
                guard try peek() == UInt8(ascii: "\"") else { throw failure("expected a key") }
                let key = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                object[key] = try value(depth: depth + 1)
                skipWhitespace()
                switch try next() {
                case UInt8(ascii: ","): skipWhitespace()
                case UInt8(ascii: "}"): return .object(object)
                default: throw failure("expected ',' or '}'")
                }
            }
        }

        private mutating func array(depth: Int) throws -> JSONValue {
            index += 1
            var array: [JSONValue] = []
            skipWhitespace()
            if try peek() == UInt8(ascii: "]") {
                index += 1
                return .array(array)
            }
            while true {
                array.append(try value(depth: depth + 1))
                skipWhitespace()
                switch try next() {
                case UInt8(ascii: ","): skipWhitespace()
                case UInt8(ascii: "]"): return .array(array)
                default: throw failure("expected ',' or ']'")
                }
            }
        }

        private mutating func string() throws -> String {
            index += 1
            let start = index
            // Most strings have no escapes: take them as one slice.
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
                index += 1
            }
            guard index < bytes.count else { throw failure("unterminated string") }
            if bytes[index] == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index - 1]), as: UTF8.self)
            }
            var utf8 = Array(bytes[start..<index])
            while true {
                let byte = try next()
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: utf8, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    switch try next() {
                    case UInt8(ascii: "\""): utf8.append(UInt8(ascii: "\""))
                    case UInt8(ascii: "\\"): utf8.append(UInt8(ascii: "\\"))
                    case UInt8(ascii: "/"): utf8.append(UInt8(ascii: "/"))
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"): utf8.append(contentsOf: try unicodeEscape())
                    default: throw failure("invalid escape")
                    }
                default:
                    utf8.append(byte)
                }
            }
        }

        /// The UTF-8 bytes of a `\uXXXX` escape (the `\u` already read), joining surrogate pairs.
        private mutating func unicodeEscape() throws -> [UInt8] {
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by `\u` and a low one.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw failure("unpaired surrogate")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid unicode escape") }
            return Array(String(Character(unicode)).utf8)
        }

        private mutating func hex4() throws -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = try next()
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw failure("invalid unicode escape")
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }

        private mutating func number() throws -> JSONValue {
            let start = index
            var isInteger = true
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"): break
                case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): isInteger = false
                default:
                    return try numberValue(start: start, isInteger: isInteger)
                }
                index += 1
            }
            return try numberValue(start: start, isInteger: isInteger)
        }

        private func numberValue(start: Int, isInteger: Bool) throws -> JSONValue {
            guard index > start else { throw failure("unexpected character") }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger, let int = Int(text) { return .int(int) }
            guard let double = Double(text), double.isFinite else { throw failure("invalid number '\(text)'") }
            return .double(double)
        }

        private mutating func literal(_ word: StaticString) throws {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count,
                  UnsafeBufferPointer(start: word.utf8Start, count: count).elementsEqual(bytes[index..<index + count])
            else { throw failure("unexpected character") }
            index += count
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): index += 1
                default: return
                }
            }
        }

        private func peek() throws -> UInt8 {
            guard index < bytes.count else { throw failure("unexpected end") }
            return bytes[index]
        }

        private mutating func next() throws -> UInt8 {
            let byte = try peek()
            index += 1
            return byte
        }

        private mutating func expect(_ byte: UInt8) throws {
            guard try next() == byte else { throw failure("expected '\(Character(Unicode.Scalar(byte)))'") }
        }

        func failure(_ reason: String) -> EasyJobsError {
            EasyJobsError(.storeFailure, "Stored JSON is malformed at byte \(index): \(reason)")
        }
    }
}
