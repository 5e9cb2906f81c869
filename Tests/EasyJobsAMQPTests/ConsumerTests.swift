import EasyJobsAMQP
import Foundation
import NIOCore
import Testing

@Suite("AMQP reconnecting consumer against RabbitMQ", .timeLimit(.minutes(1)))
struct ConsumerTests {
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

        #expect(try await RabbitMQ.closeConnections(named: name) == 1)
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
