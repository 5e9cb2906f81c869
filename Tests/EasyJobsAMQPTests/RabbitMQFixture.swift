import EasyJobsAMQP
import Foundation
import NIOCore

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
