import EasyJobsAMQP
import Foundation
import NIOCore
import Testing

/// The broker of the integration tests: `EASYJOBS_TEST_RABBITMQ`, an amqp:// URL that
/// scripts/rabbitmq.sh prints. Without it the tests fail (they never skip): a green run must
/// mean that the client was tested against a real broker.
enum RabbitMQ {
    static let variable = "EASYJOBS_TEST_RABBITMQ"

    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "\(RabbitMQ.variable) is not set: start a throwaway broker with `eval \"$(scripts/rabbitmq.sh start)\"` "
                + "and stop it afterwards with `scripts/rabbitmq.sh stop \"$EASYJOBS_TEST_RABBITMQ_DIR\"`"
        }
    }

    static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment[variable], !url.isEmpty else { throw NotConfigured() }
        return url
    }

    static func connect(heartbeat: UInt16 = 10) async throws -> AMQPConnection {
        try await AMQPConnection.connect(url: url(), heartbeat: heartbeat)
    }

    /// Runs rabbitmqctl on the test node through scripts/rabbitmq.sh and returns its output.
    @discardableResult
    static func rabbitmqctl(_ arguments: String...) async throws -> String {
        guard let dir = ProcessInfo.processInfo.environment["EASYJOBS_TEST_RABBITMQ_DIR"] else {
            throw NotConfigured()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("scripts/rabbitmq.sh").path, "ctl", dir] + arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-rabbitmqctl-\(UInt64.random(in: 0...UInt64.max))")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        process.standardOutput = try FileHandle(forWritingTo: output)
        // Waited for without blocking a thread of the (small) cooperative pool, which the
        // client's heartbeats and the other tests share.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let data = try Data(contentsOf: output)
        #expect(process.terminationStatus == 0, "rabbitmqctl \(arguments) failed")
        return String(decoding: data, as: UTF8.self)
    }

    /// Closes the broker's connections named `name` (and no other test's).
    static func closeConnections(named name: String) async throws -> Int {
        // RabbitMQ 3.10 lists the name only inside the client properties.
        let listing = try await rabbitmqctl("list_connections", "--no-table-headers", "pid", "client_properties")
        var closed = 0
        for line in listing.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            guard fields.count == 2, fields[1].contains("\"\(name)\"") else { continue }
            try await rabbitmqctl("close_connection", String(fields[0]), "easyjobs test")
            closed += 1
        }
        return closed
    }

    /// A queue name no other test (or earlier run) uses.
    static func uniqueName(_ prefix: String) -> String {
        "easyjobs-test-\(prefix)-\(UInt64.random(in: 0...UInt64.max))"
    }
}

/// Polls `condition` until it holds or `timeout` passes; the tests wait for the broker's side
/// effects this way rather than sleeping a guessed time.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
