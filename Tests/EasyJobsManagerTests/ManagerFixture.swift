import EasyJobsManager
import EasyJobsStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging

/// A manager application in this process over a real SQLite file in a fresh directory, driven
/// through HummingbirdTesting's router client: the manager's rules without child processes.
enum ManagerFixture {
    static func withManager<T>(
        compatibility: APICompatibility = .native, prepare: (SQLiteJobStore) async throws -> Void = { _ in },
        _ body: @Sendable (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-manager-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteJobStore(path: directory.appendingPathComponent("easyjobs.sqlite").path)
        try await prepare(store)
        let options = ManagerOptions(port: 0, dataDirectory: directory, firesSchedules: false, peerSyncInterval: .zero, compatibility: compatibility)
        var logger = Logger(label: "easyjobs.manager.test")
        logger.logLevel = .warning
        let app = try await ManagerApplication.make(options: options, store: store, logger: logger)
        return try await app.test(.router, body)
    }
}
