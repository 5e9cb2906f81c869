import EasyJobsAMQP
import NIOCore
import Testing

@Suite("AMQP channels against RabbitMQ", .timeLimit(.minutes(1)))
struct ChannelTests {
    @Test("1,000 confirmed publishes are consumed and acknowledged in order")
    func publishAndConsumeInOrder() async throws {
        let connection = try await RabbitMQ.connect()
        let queue = RabbitMQ.uniqueName("order")
        let publisher = try await connection.openChannel()
        try await publisher.queueDeclare(name: queue, durable: false, exclusive: true)
        try await publisher.confirmSelect()
        for i in 0..<1000 {
            try await publisher.publish(routingKey: queue, body: ByteBuffer(string: "message \(i)"), persistent: false)
        }
        #expect(try await publisher.queueDeclare(name: queue, durable: false, exclusive: true).messageCount == 1000)

        let consumer = try await connection.openChannel()
        try await consumer.basicQos(prefetchCount: 50)
        var expected = 0
        for try await delivery in try await consumer.consume(queue: queue) {
            #expect(String(buffer: delivery.body) == "message \(expected)")
            #expect(delivery.routingKey == queue)
            #expect(!delivery.redelivered)
            #expect(delivery.deliveryTag == UInt64(expected + 1))
            try await delivery.ack()
            expected += 1
            if expected == 1000 { break }
        }
        #expect(expected == 1000)
        #expect(
            try await eventually {
                try await publisher.queueDeclare(name: queue, durable: false, exclusive: true).messageCount == 0
            })
        try await connection.close()
    }

    @Test("a message consumed but not acknowledged is redelivered after its channel closes")
    func unacknowledgedIsRedelivered() async throws {
        let connection = try await RabbitMQ.connect()
        let queue = RabbitMQ.uniqueName("redeliver")
        let channel = try await connection.openChannel()
        try await channel.queueDeclare(name: queue, durable: false, exclusive: true)
        try await channel.confirmSelect()
        try await channel.publish(routingKey: queue, body: ByteBuffer(string: "once more"))

        let first = try await connection.openChannel()
        var deliveries = try await first.consume(queue: queue).makeAsyncIterator()
        let delivery = try #require(try await deliveries.next())
        #expect(!delivery.redelivered)
        try await first.close()
        // The stream of a channel the client closed ends without error.
        #expect(try await deliveries.next() == nil)
        await #expect(throws: AMQPError.self) { try await delivery.ack() }

        let second = try await connection.openChannel()
        var again = try await second.consume(queue: queue).makeAsyncIterator()
        let redelivery = try #require(try await again.next())
        #expect(redelivery.redelivered)
        #expect(String(buffer: redelivery.body) == "once more")
        try await redelivery.ack()
        try await connection.close()
    }

    @Test("a channel the broker closed surfaces the broker's reply text, also on a later publish")
    func brokerClosedChannel() async throws {
        let connection = try await RabbitMQ.connect()
        let queue = RabbitMQ.uniqueName("conflict")
        let first = try await connection.openChannel()
        try await first.queueDeclare(name: queue, durable: false, exclusive: true)

        let second = try await connection.openChannel()
        let error = await #expect(throws: AMQPError.self) {
            try await second.queueDeclare(name: queue, durable: false, exclusive: true, arguments: ["x-max-length": .int32(10)])
        }
        #expect(error?.code == .channelClosed)
        #expect(error?.replyCode == 406)
        #expect(error?.message.contains("PRECONDITION_FAILED") == true, "\(String(describing: error))")
        #expect(error?.message.contains("x-max-length") == true, "\(String(describing: error))")

        let publishError = await #expect(throws: AMQPError.self) {
            try await second.publish(routingKey: queue, body: ByteBuffer(string: "lost"))
        }
        #expect(publishError == error)

        // The connection and its other channels live on.
        try await first.confirmSelect()
        try await first.publish(routingKey: queue, body: ByteBuffer(string: "still fine"))
        try await connection.close()
    }

    @Test("publishing to a missing exchange closes the channel with NOT_FOUND")
    func missingExchange() async throws {
        let connection = try await RabbitMQ.connect()
        let channel = try await connection.openChannel()
        try await channel.confirmSelect()
        let error = await #expect(throws: AMQPError.self) {
            try await channel.publish(exchange: RabbitMQ.uniqueName("nowhere"), routingKey: "x", body: ByteBuffer(string: "lost"))
        }
        #expect(error?.code == .channelClosed)
        #expect(error?.replyCode == 404)
        #expect(error?.message.contains("NOT_FOUND") == true, "\(String(describing: error))")
        try await connection.close()
    }

    @Test("a consumer whose queue is deleted ends with consumerCancelled")
    func queueDeleted() async throws {
        let connection = try await RabbitMQ.connect()
        let queue = RabbitMQ.uniqueName("deleted")
        let channel = try await connection.openChannel()
        try await channel.queueDeclare(name: queue, durable: false, exclusive: true)
        var deliveries = try await channel.consume(queue: queue).makeAsyncIterator()
        let other = try await connection.openChannel()
        #expect(try await other.queueDelete(name: queue) == 0)
        let error = await #expect(throws: AMQPError.self) { _ = try await deliveries.next() }
        #expect(error?.code == .consumerCancelled)
        // The channel itself stays open.
        try await channel.basicQos(prefetchCount: 1)
        try await connection.close()
    }

    @Test("a mandatory publish no queue is bound for is unroutable; the channel lives on")
    func unroutable() async throws {
        let connection = try await RabbitMQ.connect()
        let channel = try await connection.openChannel()
        let exchange = RabbitMQ.uniqueName("unbound")
        let queue = RabbitMQ.uniqueName("bound")
        try await channel.exchangeDeclare(name: exchange, type: "direct", durable: false, autoDelete: true)
        try await channel.queueDeclare(name: queue, durable: false, exclusive: true)
        try await channel.queueBind(queue: queue, exchange: exchange, routingKey: "etl")
        try await channel.confirmSelect()

        let error = await #expect(throws: AMQPError.self) {
            try await channel.publish(exchange: exchange, routingKey: "nobody", body: ByteBuffer(string: "lost"), mandatory: true)
        }
        #expect(error?.code == .unroutable)
        #expect(error?.replyCode == 312)
        #expect(error?.message.contains("NO_ROUTE") == true, "\(String(describing: error))")
        // Without mandatory the broker drops it and confirms.
        try await channel.publish(exchange: exchange, routingKey: "nobody", body: ByteBuffer(string: "dropped"))
        // Routable mandatory publishes, before and after, are confirmed.
        try await channel.publish(exchange: exchange, routingKey: "etl", body: ByteBuffer(string: "kept"), mandatory: true)
        var deliveries = try await channel.consume(queue: queue).makeAsyncIterator()
        let delivery = try #require(try await deliveries.next())
        #expect(String(buffer: delivery.body) == "kept")
        try await delivery.ack()
        try await connection.close()
    }

    @Test("a 1 MiB body is split into frames of frame-max and reassembled")
    func largeBody() async throws {
        let connection = try await RabbitMQ.connect()
        let frameMax = await connection.tuning.frameMax
        #expect(frameMax < 1 << 20)
        let queue = RabbitMQ.uniqueName("large")
        let channel = try await connection.openChannel()
        try await channel.queueDeclare(name: queue, durable: false, exclusive: true)
        try await channel.confirmSelect()
        // Every byte value, in an order that is not a multiple of any frame size.
        let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 251) }
        var properties = AMQPProperties()
        properties.contentType = "application/octet-stream"
        properties.headers = ["easyjobs-size": .int64(1 << 20)]
        try await channel.publish(routingKey: queue, body: ByteBuffer(bytes: bytes), properties: properties)

        var deliveries = try await channel.consume(queue: queue).makeAsyncIterator()
        let delivery = try #require(try await deliveries.next())
        #expect(delivery.body.readableBytes == 1 << 20)
        #expect(Array(delivery.body.readableBytesView) == bytes)
        #expect(delivery.properties.contentType == "application/octet-stream")
        #expect(delivery.properties.headers?["easyjobs-size"] == .int64(1 << 20))
        #expect(delivery.properties.deliveryMode == 2)
        try await delivery.ack()
        try await connection.close()
    }

    @Test("jobs routed by namespace through a direct exchange reach the namespace's queue")
    func routedByNamespace() async throws {
        let connection = try await RabbitMQ.connect()
        let channel = try await connection.openChannel()
        let exchange = RabbitMQ.uniqueName("jobs")
        let queue = RabbitMQ.uniqueName("etl")
        try await channel.exchangeDeclare(name: exchange, type: "direct", durable: false, autoDelete: true)
        try await channel.queueDeclare(name: queue, durable: false, exclusive: true)
        try await channel.queueBind(queue: queue, exchange: exchange, routingKey: "etl")
        try await channel.confirmSelect()
        let job = #"{"job": {"namespace": "etl", "name": "extract", "args": [], "kwargs": {}}}"#
        try await channel.publish(exchange: exchange, routingKey: "other", body: ByteBuffer(string: "not for etl"))
        try await channel.publish(exchange: exchange, routingKey: "etl", body: ByteBuffer(string: job))

        var deliveries = try await channel.consume(queue: queue).makeAsyncIterator()
        let delivery = try #require(try await deliveries.next())
        #expect(String(buffer: delivery.body) == job)
        #expect(delivery.exchange == exchange)
        #expect(delivery.routingKey == "etl")
        try await delivery.nack(requeue: false)
        try await connection.close()
    }
}
