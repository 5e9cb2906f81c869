import EasyJobsAMQP
import Foundation
import NIOCore
import NIOPosix
import Testing

@Suite("AMQP connection against RabbitMQ", .timeLimit(.minutes(1)))
struct ConnectionTests {
    @Test("handshake, channel open and close, connection close")
    func handshakeAndClose() async throws {
        let connection = try await RabbitMQ.connect(heartbeat: 5)
        #expect(await connection.isOpen)
        let tuning = await connection.tuning
        #expect(tuning.heartbeat == 5)
        #expect(tuning.frameMax > 4096)
        #expect(await connection.serverProperties["product"] == .string("RabbitMQ"))

        let channel = try await connection.openChannel()
        try await channel.queueDeclare(name: RabbitMQ.uniqueName("handshake"), durable: false, exclusive: true)
        try await channel.close()
        await #expect(throws: AMQPError.self) { try await channel.basicQos(prefetchCount: 1) }

        try await connection.close()
        #expect(await !connection.isOpen)
        #expect(await connection.closeError == nil)
        let error = await #expect(throws: AMQPError.self) { try await connection.openChannel() }
        #expect(error?.code == .connectionClosed)
    }

    @Test("a wrong password is an authentication error naming ACCESS_REFUSED")
    func wrongPassword() async throws {
        let url = try RabbitMQ.url().replacingOccurrences(of: "guest:guest@", with: "guest:not-the-password@")
        let error = await #expect(throws: AMQPError.self) { _ = try await AMQPConnection.connect(url: url) }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.replyCode == 403)
        #expect(error?.message.contains("ACCESS_REFUSED") == true, "\(String(describing: error))")
    }

    @Test("an unknown virtual host is refused")
    func unknownVirtualHost() async throws {
        var url = try RabbitMQ.url()
        url += "no-such-vhost"
        let error = await #expect(throws: AMQPError.self) { _ = try await AMQPConnection.connect(url: url) }
        #expect(error?.code == .accessRefused, "\(String(describing: error))")
    }

    @Test("a connection the broker closes surfaces its reply code and text, to consumers and later calls")
    func closedByBroker() async throws {
        let name = RabbitMQ.uniqueName("closed")
        let connection = try await AMQPConnection.connect(url: RabbitMQ.url(), connectionName: name)
        let channel = try await connection.openChannel()
        let queue = RabbitMQ.uniqueName("closed")
        try await channel.queueDeclare(name: queue, durable: false, exclusive: true)
        var deliveries = try await channel.consume(queue: queue).makeAsyncIterator()

        #expect(try await RabbitMQ.closeConnections(named: name) == 1)
        let error = await #expect(throws: AMQPError.self) { _ = try await deliveries.next() }
        #expect(error?.code == .connectionClosed)
        #expect(error?.replyCode == 320)
        #expect(error?.message.contains("CONNECTION_FORCED - easyjobs test") == true, "\(String(describing: error))")
        #expect(await connection.closeError == error)
        let publishError = await #expect(throws: AMQPError.self) {
            try await channel.publish(routingKey: queue, body: ByteBuffer(string: "lost"))
        }
        #expect(publishError == error)
    }

    @Test("nothing listening is connection refused")
    func connectionRefused() async throws {
        // A port just bound and released: nothing listens on it.
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = server.localAddress!.port!
        try await server.close()
        let error = await #expect(throws: AMQPError.self) { _ = try await AMQPConnection.connect(host: "127.0.0.1", port: port) }
        #expect(error?.code == .connectionRefused)
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
    }
}
