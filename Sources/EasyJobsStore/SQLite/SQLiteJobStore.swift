import EasyJobsCore
import Foundation
import GRDB
import Synchronization

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
    /// This store's write transactions queued or running: a write that finds none runs on the
    /// calling thread (see ``write(_:context:_:)``).
    let writesInFlight = Atomic<Int>(0)

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
        let pageSize = options.pageSize
        configuration.prepareDatabase { db in
            // Per connection: these pragmas are not persisted in the file.
            try db.execute(sql: "PRAGMA busy_timeout = \(busyMilliseconds)")
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            // Persisted, but it takes effect only on a file with nothing in it yet (before the
            // pool turns WAL on and the migrations create the tables): a no-op on any other.
            try db.execute(sql: "PRAGMA page_size = \(pageSize)")
        }

        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            // SQLite opens a WAL database on a read-only mount when its -wal and -shm files are
            // there (a manager that was killed leaves them), and only every write fails then: a
            // store that cannot write is refused before it is opened.
            if let reason = Self.unwritableReason(path) {
                throw EasyJobsError(.storeFailure, "Could not open the database at \(path): \(reason)", context: ["path": path])
            }
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

    /// Runs `body` in a write transaction.
    ///
    /// A write that finds the writer free runs on the calling thread, through GRDB's blocking
    /// access, instead of hopping to the writer's dispatch queue and back: on two shared cores
    /// each of those hops woke a sleeping thread, and the two cost a chain of three steps about
    /// 0.3 ms of its 3 (alternating pairs of sequential chains, BENCHMARKS.md). A write that
    /// would wait for another one suspends instead, as before, so no caller's thread waits on
    /// the writer's lock. With ``Options/Synchronous/full`` every commit waits for an fsync,
    /// and every write goes to the writer's queue, off the cooperative pool. What a write on the
    /// calling thread can still wait for: SQLite's automatic checkpoint when a commit fills the
    /// WAL (tens of milliseconds, about once every thousand transactions here), and another
    /// process writing the same file, up to ``Options/busyTimeout``.
    func write<T: Sendable>(
        _ operation: String, context: [String: String] = [:], _ body: @Sendable (Database) throws -> T
    ) async throws -> T {
        let earlier = writesInFlight.add(1, ordering: .acquiringAndReleasing).oldValue
        defer { writesInFlight.subtract(1, ordering: .acquiringAndReleasing) }
        do {
            if earlier == 0 && options.synchronous == .normal {
                return try Self.writeOnThisThread(pool, body)
            }
            return try await pool.writeWithoutTransaction { db in try Self.inImmediateTransaction(db, body) }
        } catch {
            throw Self.storeError(error, operation, context: context)
        }
    }

    /// GRDB's blocking write (a synchronous function, so the call does not resolve to its
    /// `async` overload).
    private static func writeOnThisThread<T>(_ pool: DatabasePool, _ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in try inImmediateTransaction(db, body) }
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

    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}
