import ArgumentParser
import EasyJobsManager
import EasyJobsPostgres
import EasyJobsStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The store a manager runs on, opened from `--store`: the embedded SQLite file in the data
/// directory, or a PostgreSQL database that several managers share.
struct OpenedStore {
    var store: any ManagerStore
    /// Services the store needs running (PostgreSQL's connection pool), started before the
    /// manager and stopped after it.
    var services: [any Service]
    /// Run once the services run, before the manager reads the store (migrations).
    var prepare: @Sendable () async throws -> Void
    /// What to call the store in messages (never with a password).
    var location: String

    static func open(_ choice: String, options: ManagerOptions, durability: String, logger: Logger) throws -> OpenedStore {
        if choice.hasPrefix("postgres://") || choice.hasPrefix("postgresql://") {
            let store = try PostgresJobStore(url: choice, logger: logger)
            return OpenedStore(store: store, services: [store], prepare: { try await store.migrate() }, location: store.location)
        }
        guard choice == "sqlite" else {
            throw ValidationError("--store must be 'sqlite' or a postgres://user:password@host:port/database URL, got '\(choice)'")
        }
        guard let synchronous = SQLiteJobStore.Options.Synchronous(flag: durability) else {
            throw ValidationError("--durability must be 'normal' or 'full', got '\(durability)'")
        }
        try FileManager.default.createDirectory(at: options.dataDirectory, withIntermediateDirectories: true)
        let store = try SQLiteJobStore(path: options.databasePath, options: .init(synchronous: synchronous))
        return OpenedStore(store: store, services: [], prepare: {}, location: options.databasePath)
    }
}

/// The manager as one service of a group: it prepares the store (which runs by then), builds
/// the application and serves until the group shuts down.
struct ManagerService: Service {
    let store: OpenedStore
    let options: ManagerOptions
    let logger: Logger
    let onListening: @Sendable (String) async -> Void

    func run() async throws {
        try await store.prepare()
        let app = try await ManagerApplication.make(options: options, store: store.store, logger: logger, onListening: onListening)
        try await app.run()
    }
}

extension SQLiteJobStore.Options.Synchronous {
    init?(flag: String) {
        switch flag {
        case "normal": self = .normal
        case "full": self = .full
        default: return nil
        }
    }
}
