import EasyJobsCore
import EasyJobsPostgres
import EasyJobsStore
import Foundation
import Logging
import PostgresNIO
import Testing

/// What the shared store tests exercise: every store has jobs and retention.
typealias TestStore = ManagerStore & JobRetention

/// The store implementations the shared suites run against, as test arguments.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// Runs `body` with a store on a fresh, empty database, deleted afterwards.
    func withStore<T>(_ body: (any TestStore) async throws -> T) async throws -> T {
        try await withStores(1) { try await body($0[0]) }
    }

    /// Runs `body` with `count` stores on one fresh database: as many managers sharing it.
    func withStores<T>(_ count: Int, _ body: ([any TestStore]) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let directory = try TemporaryDirectory()
            defer { withExtendedLifetime(directory) {} }
            let stores = try (0..<count).map { _ in try SQLiteJobStore(path: directory.databasePath) }
            return try await body(stores)
        case .postgres:
            return try await TestPostgres.withDatabase { url in
                try await TestPostgres.withStores(url: url, count: count) { try await body($0) }
            }
        }
    }
}

/// The PostgreSQL server of the tests, which scripts/test.sh starts (scripts/postgres.sh).
///
/// Each test gets a database of its own, created from the server's `EASYJOBS_TEST_POSTGRES`
/// database and dropped at the end, so tests running in parallel never see each other's jobs.
enum TestPostgres {
    static let variable = "EASYJOBS_TEST_POSTGRES"

    /// Logs nothing: every test database logs its migration otherwise.
    static let logger = Logger(label: "EasyJobs.StoreTests", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Small pools: many tests run at once against one server of 200 connections.
    static let options = PostgresJobStore.Options(maximumConnections: 6)

    /// Tests holding a database at once; the others wait for a slot.
    private static let slots = AsyncSemaphore(8)

    static func serverURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment[variable], !url.isEmpty else {
            throw SetupError(
                "\(variable) is not set, so the PostgreSQL store cannot be tested. Run the tests with scripts/test.sh, which "
                    + "starts a throwaway server, or start one with `eval \"$(scripts/postgres.sh start)\"` before `swift test`.")
        }
        return url
    }

    /// Runs `body` with the URL of a new, empty database, dropped afterwards.
    static func withDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        let server = try serverURL()
        await slots.wait()
        do {
            let result = try await withNewDatabase(server, body)
            await slots.signal()
            return result
        } catch {
            await slots.signal()
            throw error
        }
    }

    private static func withNewDatabase<T>(_ server: String, _ body: (String) async throws -> T) async throws -> T {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await maintenance(server, "CREATE DATABASE \(name)")
        let result: T
        do {
            result = try await body(try url(server, database: name))
        } catch {
            try? await maintenance(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        try await maintenance(server, "DROP DATABASE \(name) WITH (FORCE)")
        return result
    }

    /// Runs `body` with `count` stores on `url`, each with its own pool, as separate managers have.
    static func withStores<T>(
        url: String, count: Int, _ opened: [PostgresJobStore] = [], _ body: ([PostgresJobStore]) async throws -> T
    ) async throws -> T {
        if opened.count == count { return try await body(opened) }
        return try await PostgresJobStore.withStore(url: url, options: options, logger: logger) { store in
            try await withStores(url: url, count: count, opened + [store], body)
        }
    }

    /// `url` with its database replaced.
    static func url(_ url: String, database: String) throws -> String {
        guard var components = URLComponents(string: url) else { throw SetupError("\(variable) is not a URL") }
        components.path = "/" + database
        guard let changed = components.string else { throw SetupError("\(variable) is not a URL") }
        return changed
    }

    /// Runs one statement on the database of `url`.
    static func rows(_ url: String, _ sql: String) async throws -> [PostgresRow] {
        let connection = try await connect(url)
        do {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
            try await connection.close()
            return rows
        } catch {
            try? await connection.close()
            throw SetupError("Could not run `\(sql)` on the test server: \(String(reflecting: error))")
        }
    }

    private static func connect(_ url: String) async throws -> PostgresConnection {
        guard let components = URLComponents(string: url), let host = components.host, let user = components.user else {
            throw SetupError("\(variable) must look like postgres://user@host:port/database")
        }
        let configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: String(components.path.dropFirst()), tls: .disable)
        return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
    }

    /// Runs a statement such as CREATE DATABASE, which must run outside a transaction and on
    /// another database than the one it creates or drops.
    static func maintenance(_ url: String, _ sql: String) async throws {
        _ = try await rows(url, sql)
    }
}

struct SetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Lets at most `count` holders in at once; the others wait in order.
actor AsyncSemaphore {
    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { available = count }

    func wait() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func signal() {
        if waiting.isEmpty {
            available += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

/// A fresh directory per test, removed when the test's value goes away.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-store-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var databasePath: String { url.appendingPathComponent("easyjobs.sqlite").path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
