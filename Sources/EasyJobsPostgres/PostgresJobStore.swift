import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// A ``ManagerStore`` in a PostgreSQL database: the store several managers share.
///
/// The store talks to the server through a `PostgresClient` connection pool. The pool's
/// background work runs in ``run()``, so the store is a `Service`: put it in the manager's
/// `ServiceGroup` before the services that use it (a group stops its services in reverse
/// order, so the store then closes last). Commands and tests can use
/// ``withStore(url:options:logger:_:)``, which runs the pool around a closure.
///
/// Every method is one transaction. Claims lock the rows they take with
/// `FOR UPDATE SKIP LOCKED`, and the operations that end runs lock the rows they change, so
/// two managers never take or end one job twice. The schema mirrors the SQLite store's: dates
/// are seconds since 1970 in `DOUBLE PRECISION`, arguments and results JSON text.
///
/// ```swift
/// try await PostgresJobStore.withStore(url: "postgres://easyjobs:secret@db.internal:5432/easyjobs") { store in
///     let job = try await store.enqueue(NewJob(queue: "ETL", task: "extract", args: ["url": "http://stats"]))
///     let claimed = try await store.claim(
///         queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 5, leaseDuration: 30, now: .now)
/// }
/// ```
public final class PostgresJobStore: ManagerStore, Service, Sendable {
    /// Where the store connects, without its password: safe for logs and messages.
    public let location: String
    public let options: Options
    let client: PostgresClient
    let logger: Logger
    /// Set when the store was made from a URL: ``migrate()`` first connects to it directly.
    private let server: Server?

    /// A store on the server described by `configuration`. Nothing connects before ``run()``
    /// runs; call ``migrate()`` before using it.
    public convenience init(
        configuration: PostgresClient.Configuration, options: Options = .init(),
        logger: Logger = Logger(label: "EasyJobs.PostgresJobStore")
    ) {
        self.init(configuration: configuration, server: nil, options: options, logger: logger)
    }

    /// A store on the server of a `postgres://user:password@host:port/database` URL
    /// (`postgresql://` too). TLS is off unless the URL asks for it with `?sslmode=require`
    /// (encrypted, as libpq's `require`: the certificate is not checked) or
    /// `?sslmode=verify-full`.
    ///
    /// - Throws: ``EasyJobsError`` with code `invalid_configuration` naming what is wrong in
    ///   the URL; the message never repeats the password.
    public convenience init(
        url: String, options: Options = .init(), logger: Logger = Logger(label: "EasyJobs.PostgresJobStore")
    ) throws {
        let server = try Self.server(url: url)
        self.init(configuration: server.clientConfiguration, server: server, options: options, logger: logger)
    }

    private init(configuration: PostgresClient.Configuration, server: Server?, options: Options, logger: Logger) {
        var configuration = configuration
        configuration.options.maximumConnections = max(1, options.maximumConnections)
        configuration.options.connectTimeout = options.connectTimeout
        self.options = options
        self.logger = logger
        self.server = server
        self.location = Self.describe(configuration)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// Runs the connection pool until the task is cancelled or the service group shuts down;
    /// no query can run before this starts or after it ends. Call it once.
    public func run() async {
        await client.run()
    }

    /// Brings the schema up to date. Several managers may start at once: migrations run
    /// under a transaction-level advisory lock, so one applies them and the others then find
    /// them applied.
    ///
    /// With a store made from a URL it first opens one connection of its own, so that a server
    /// that cannot be reached, a wrong password or a missing database fail at once with the
    /// server's reason. (The pool retries connecting for a minute before it gives up, and then
    /// does not say why.)
    public func migrate() async throws {
        if let server {
            try await probe(server)
        }
        try await transaction("migrate the database", context: ["database": location]) { connection in
            try await PostgresMigrations.migrate(connection, logger: self.logger)
        }
    }

    private func probe(_ server: Server) async throws {
        do {
            let configuration = try server.connectionConfiguration(connectTimeout: options.connectTimeout)
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
        } catch {
            throw Self.storeError(error, "connect to the database", context: ["database": location])
        }
    }

    /// Runs a store on `url` around `body`: starts the pool, migrates, calls `body`, then
    /// closes the pool.
    ///
    /// ```swift
    /// let counts = try await PostgresJobStore.withStore(url: url) { try await $0.counts(queue: nil) }
    /// ```
    public static func withStore<T>(
        url: String, options: Options = .init(), logger: Logger = Logger(label: "EasyJobs.PostgresJobStore"),
        _ body: (PostgresJobStore) async throws -> T
    ) async throws -> T {
        let store = try PostgresJobStore(url: url, options: options, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            // Cancelling run() closes the pool; the group then waits for it to finish.
            defer { group.cancelAll() }
            try await store.migrate()
            return try await body(store)
        }
    }

    // MARK: - Database access

    /// Runs `body` in one transaction, committed when it returns and rolled back when it throws.
    ///
    /// A transaction the server aborted to break a deadlock or a serialization conflict (two
    /// managers ending related jobs at once) is run again from the start: nothing of it was
    /// committed, and `body` builds its answer afresh each time.
    func transaction<T: Sendable>(
        _ operation: String, context: [String: String] = [:], _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await client.withTransaction(logger: logger) { connection in
                    try await body(connection)
                }
            } catch {
                if attempt < Self.maximumTransactionAttempts, Self.isTransient(error) {
                    attempt += 1
                    continue
                }
                throw Self.storeError(error, operation, context: context)
            }
        }
    }

    /// Runs one statement outside a transaction (it is its own) and returns its rows.
    func query(_ operation: String, context: [String: String] = [:], _ query: PostgresQuery) async throws -> [PostgresRow] {
        do {
            return try await client.query(query, logger: logger).collect()
        } catch {
            throw Self.storeError(error, operation, context: context)
        }
    }

    /// Runs statements on one connection, without a transaction.
    func withConnection<T: Sendable>(
        _ operation: String, context: [String: String] = [:], _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw Self.storeError(error, operation, context: context)
        }
    }

    private static let maximumTransactionAttempts = 5

    /// A deadlock (40P01) or serialization failure (40001): the server rolled the transaction back.
    private static func isTransient(_ error: any Error) -> Bool {
        guard let sqlState = serverError(error)?.serverInfo?[.sqlState] else { return false }
        return sqlState == "40P01" || sqlState == "40001"
    }

    /// The error that made a transaction fail, out of PostgresNIO's wrapper.
    private static func cause(_ error: any Error) -> any Error {
        guard let wrapped = error as? PostgresTransactionError else { return error }
        return wrapped.closureError ?? wrapped.beginError ?? wrapped.commitError ?? wrapped.rollbackError ?? error
    }

    private static func serverError(_ error: any Error) -> PSQLError? {
        cause(error) as? PSQLError
    }

    /// Turns database and decoding failures into `store_failure` errors that say what the
    /// store was doing; errors that already mean something to callers pass through.
    ///
    /// A `PSQLError` is described from its parts (code, SQLSTATE, the server's message), never
    /// with `String(reflecting:)`, which would print the query's bound values.
    static func storeError(_ error: any Error, _ operation: String, context: [String: String]) -> any Error {
        let error = cause(error)
        if error is EasyJobsError || error is CancellationError { return error }
        var context = context
        let detail: String
        if let error = error as? PSQLError {
            if let server = error.serverInfo {
                let sqlState = server[.sqlState] ?? ""
                context["sqlstate"] = sqlState
                if sqlState == "23505", server[.constraintName] == "jobs_id_key", let jobID = context["job_id"] {
                    return EasyJobsError(.storeFailure, "Could not \(operation): a job with id '\(jobID)' already exists", context: context)
                }
                detail = server[.message] ?? "the server reported an error (SQLSTATE \(sqlState))"
            } else {
                context["postgres_error"] = error.code.description
                if error.code == .queryCancelled { return CancellationError() }
                detail = error.underlying.map { "\(error.code.description): \($0)" } ?? error.code.description
            }
        } else if let error = error as? PostgresDecodingError {
            context["column"] = error.columnName
            detail = "cannot read column '\(error.columnName)' (\(error.postgresType)) as \(error.targetType): \(error.code)"
        } else if String(describing: type(of: error)) == "ConnectionPoolError" {
            // The pool's own error (its module is underscored, so matched by name): it failed to
            // connect for its circuit breaker's time, or was shut down.
            detail = "the connection pool could not serve the call (\(error))"
        } else {
            detail = "\(error)"
        }
        return EasyJobsError(.storeFailure, "Could not \(operation): \(detail)", context: context)
    }

    private static func describe(_ configuration: PostgresClient.Configuration) -> String {
        let address = configuration.unixSocketPath ?? "\(configuration.host ?? "?"):\(configuration.port ?? 5432)"
        return "postgres://\(configuration.username)@\(address)/\(configuration.database ?? configuration.username)"
    }

    // MARK: - Row mapping

    /// The job columns every job query returns; rows are read by column name.
    static let jobColumns = """
        seq, id, queue, task, args, status, attempts, result, error, \
        created_at, started_at, finished_at, host_id, lease_expires_at, pulled_at, \
        origin, parent_id, max_attempts, run_at, dependencies, cancel_requested, \
        plugin_name, plugin_version, plugin_sha256, scheduled_for, lease, lost_leases, priority, expires_at, \
        progress, progress_message, webhook_url
        """

    /// Runs a query that returns job rows.
    static func fetchJobs(_ connection: PostgresConnection, _ query: PostgresQuery, logger: Logger) async throws -> [(seq: Int, job: Job)] {
        try await connection.query(query, logger: logger).collect().map(decodeJob)
    }

    static func decodeJob(_ row: PostgresRow) throws -> (seq: Int, job: Job) {
        let row = Columns(row)
        let id: String = try row["id"]
        let args: String = try row["args"]
        guard case .object(let arguments) = try JSONValue.parse(args) else {
            throw EasyJobsError(.storeFailure, "The stored arguments of job '\(id)' are not a JSON object", context: ["job_id": id])
        }
        let statusText: String = try row["status"]
        guard let status = JobStatus(rawValue: statusText) else {
            throw EasyJobsError(.storeFailure, "Job '\(id)' has an unknown status '\(statusText)'", context: ["job_id": id])
        }
        let result: String? = try row["result"]
        let runAt: Double = try row["run_at"]
        let pluginName: String? = try row["plugin_name"]
        let plugin: PluginRef? =
            if let pluginName {
                PluginRef(name: pluginName, version: try row["plugin_version"] ?? "", sha256: try row["plugin_sha256"] ?? "")
            } else {
                nil
            }
        var job = Job(
            id: id,
            queue: try row["queue"],
            task: try row["task"],
            args: arguments,
            status: status,
            attempts: try row["attempts"],
            result: try result.map(JSONValue.parse),
            error: try row["error"],
            createdAt: Date(timeIntervalSince1970: try row["created_at"]),
            startedAt: try row.date("started_at"),
            finishedAt: try row.date("finished_at"),
            hostID: try row["host_id"],
            leaseExpiresAt: try row.date("lease_expires_at"),
            pulledAt: try row.date("pulled_at"),
            origin: JobOrigin(JobOrigin.Kind(rawValue: try row["origin"]) ?? .api, parent: try row["parent_id"]),
            maxAttempts: try row["max_attempts"],
            runAt: runAt > 0 ? Date(timeIntervalSince1970: runAt) : nil,
            dependencies: try row["dependencies"],
            cancelRequested: try row["cancel_requested"],
            plugin: plugin,
            scheduledFor: try row.date("scheduled_for"),
            lease: try row["lease"],
            lostLeases: try row["lost_leases"],
            priority: try row["priority"],
            expiresAt: try row.date("expires_at")
        )
        job.progress = try row["progress"]
        job.progressMessage = try row["progress_message"]
        job.webhookURL = try row["webhook_url"]
        return (try row["seq"], job)
    }

    // MARK: - Inserting jobs

    /// Rows per INSERT: 18 parameters each stays well under PostgreSQL's 65,535 per statement.
    private static let insertBatch = 1_000

    /// Inserts jobs on `connection` (inside the caller's transaction), in order.
    static func insert(_ jobs: [NewJob], _ connection: PostgresConnection, logger: Logger) async throws {
        var start = jobs.startIndex
        while start < jobs.endIndex {
            let end = min(start + insertBatch, jobs.endIndex)
            var binds = PostgresBindings(capacity: (end - start) * 18)
            var values: [String] = []
            values.reserveCapacity(end - start)
            for job in jobs[start..<end] {
                let first = binds.count + 1
                let created = job.createdAt.timeIntervalSince1970
                binds.append(job.id)
                binds.append(job.queue)
                binds.append(job.task)
                binds.append(String(decoding: JSONValue.object(job.args).encoded(), as: UTF8.self))
                binds.append(job.status.rawValue)
                binds.append(created)
                binds.append(job.origin.kind.rawValue)
                binds.append(job.origin.parentID)
                binds.append(job.maxAttempts)
                binds.append(job.dependencies)
                binds.append(job.error.map(text))
                binds.append(job.status == .failed ? created : nil)
                binds.append(job.scheduledFor?.timeIntervalSince1970)
                binds.append(job.runAt?.timeIntervalSince1970 ?? 0)
                binds.append(job.priority)
                binds.append(job.expiresAt?.timeIntervalSince1970)
                binds.append(job.uniqueness?.key)
                binds.append(job.webhookURL)
                values.append("(" + (first..<first + 18).map { "$\($0)" }.joined(separator: ", ") + ", 0)")
            }
            let sql = """
                INSERT INTO jobs (id, queue, task, args, status, created_at, origin, parent_id, max_attempts, dependencies, error, finished_at, scheduled_for, run_at, priority, expires_at, unique_key, webhook_url, attempts)
                VALUES \(values.joined(separator: ", "))
                """
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect()
            start = end
        }
    }

    /// Free text as PostgreSQL can store it: `text` cannot hold NUL, which a task's output or
    /// error message may contain; it is replaced by U+FFFD.
    static func text(_ string: String) -> String {
        string.utf8.contains(0) ? string.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : string
    }

    static func encodeJSON(_ value: some Encodable) throws -> String {
        try StoredJSON.encode(value)
    }
}

/// A row read by column name; a missing column is an error, not a crash.
struct Columns {
    private let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) {
        self.row = row.makeRandomAccess()
    }

    subscript<T: PostgresDecodable>(_ name: String) -> T {
        get throws {
            guard row.contains(name) else {
                throw EasyJobsError(.storeFailure, "A query returned no column '\(name)'", context: ["column": name])
            }
            return try row[name].decode(T.self)
        }
    }

    func date(_ name: String) throws -> Date? {
        let seconds: Double? = try self[name]
        return seconds.map(Date.init(timeIntervalSince1970:))
    }
}
