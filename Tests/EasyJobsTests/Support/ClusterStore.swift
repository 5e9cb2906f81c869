import Foundation

/// Which store the clusters of this test run use: SQLite (the default), or PostgreSQL when
/// `EASYJOBS_TEST_STORE=postgres` (scripts/test.sh runs the integration suites a second time
/// so), each cluster then getting a database of its own on the server of `EASYJOBS_TEST_POSTGRES`.
enum ClusterStore {
    static var isPostgres: Bool { ProcessInfo.processInfo.environment["EASYJOBS_TEST_STORE"] == "postgres" }

    /// A new empty database; returns its URL for `--store`.
    static func createDatabase() throws -> String {
        guard let server = ProcessInfo.processInfo.environment["EASYJOBS_TEST_POSTGRES"], !server.isEmpty else {
            throw TestFailure("EASYJOBS_TEST_STORE=postgres needs EASYJOBS_TEST_POSTGRES (a server URL): run scripts/test.sh, which starts one")
        }
        let name = "cluster_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try psql(server, "CREATE DATABASE \(name)")
        return replacingDatabase(of: server, with: String(name))
    }

    static func dropDatabase(_ url: String) {
        guard let server = ProcessInfo.processInfo.environment["EASYJOBS_TEST_POSTGRES"], let name = url.split(separator: "/").last else { return }
        try? psql(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs `sql` with psql (installed with the server by scripts/postgres.sh).
    static func psql(_ server: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", server, "-c", sql]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw TestFailure("psql \(sql) failed: \(message)")
        }
    }

    private static func replacingDatabase(of url: String, with name: String) -> String {
        guard let slash = url.range(of: "/", options: .backwards) else { return url }
        return String(url[..<slash.upperBound]) + name
    }
}
