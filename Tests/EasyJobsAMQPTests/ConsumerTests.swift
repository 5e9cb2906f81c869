import EasyJobsAMQP
import Foundation
import NIOCore
import Testing

@Suite("AMQP reconnecting consumer against RabbitMQ", .timeLimit(.minutes(1)))
struct ConsumerTests {
    /// Runs rabbitmqctl on the test node through scripts/rabbitmq.sh and returns its output.
    @discardableResult
    private func rabbitmqctl(_ arguments: String...) async throws -> String {
        guard let dir = ProcessInfo.processInfo.environment["EASYJOBS_TEST_RABBITMQ_DIR"] else {
            throw RabbitMQ.NotConfigured()
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
    private func closeConnections(named name: String) async throws -> Int {
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

    @Test("the consumer reconnects after the broker drops its connection and gets the unacked message again")
    func reconnects() async throws {
        let url = try RabbitMQ.url()
        let queue = RabbitMQ.uniqueName("reconnect")
        let publisher = try await RabbitMQ.connect()
        let channel = try await publisher.openChannel()
        // Not exclusive: the consumer's connections must see it; auto-delete would drop it
        // when the first consumer goes, so it is deleted by the x-expires argument instead.
        try await channel.queueDeclare(name: queue, durable: false, arguments: ["x-expires": .int32(60_000)])
        try await channel.confirmSelect()
        try await channel.publish(routingKey: queue, body: ByteBuffer(string: "first"))

        let name = RabbitMQ.uniqueName("consumer")
        let consumer = AMQPConsumer(url: url, queue: queue, minBackoff: .milliseconds(50), connectionName: name)
        var deliveries = consumer.deliveries().makeAsyncIterator()
        let first = try #require(try await deliveries.next())
        #expect(String(buffer: first.body) == "first")
        #expect(!first.redelivered)

        #expect(try await closeConnections(named: name) == 1)
        let again = try #require(try await deliveries.next())
        #expect(String(buffer: again.body) == "first")
        #expect(again.redelivered)
        try await again.ack()
        await #expect(throws: AMQPError.self) { try await first.ack() }

        try await channel.publish(routingKey: queue, body: ByteBuffer(string: "second"))
        let second = try #require(try await deliveries.next())
        #expect(String(buffer: second.body) == "second")
        #expect(!second.redelivered)
        try await second.ack()
        try await publisher.close()
    }
}
