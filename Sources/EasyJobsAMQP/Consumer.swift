import Logging
import NIOCore

/// Consumes a queue across lost connections: connects, sets the channel up (declarations,
/// bindings), consumes, and when the connection or channel is lost reconnects with exponential
/// backoff and consumes again. Deliveries not acknowledged before a loss come again, with
/// ``AMQPDelivery/redelivered`` set; acknowledging a delivery of a lost connection throws.
///
/// ```swift
/// let consumer = AMQPConsumer(url: "amqp://guest:guest@127.0.0.1:5672/", queue: "easyjobs.etl") { channel in
///     try await channel.queueDeclare(name: "easyjobs.etl", durable: true)
/// }
/// for try await delivery in consumer.deliveries() {
///     try await delivery.ack()
/// }
/// ```
public struct AMQPConsumer: Sendable {
    /// The broker, as `amqp://user:password@host:port/vhost`.
    public var url: String
    /// The queue consumed (declared by `setup` if it may not exist yet).
    public var queue: String
    /// Deliveries held unacknowledged at once (basic.qos).
    public var prefetchCount: UInt16
    /// The heartbeat interval asked for, in seconds: how soon a dead connection is noticed.
    public var heartbeat: UInt16
    /// The first wait after a failed attempt; doubled on each further failure up to `maxBackoff`.
    public var minBackoff: Duration
    public var maxBackoff: Duration
    /// The name of its connections at the broker (`rabbitmqctl list_connections user_provided_name`).
    public var connectionName: String?
    /// Where reconnections are logged.
    public var logger: Logger
    /// Runs on each new channel before consuming: declare the queue, exchange and bindings here.
    public var setup: @Sendable (AMQPChannel) async throws -> Void

    /// A consumer of `queue` at `url`; nothing happens until ``deliveries()`` is iterated.
    public init(
        url: String, queue: String, prefetchCount: UInt16 = 10, heartbeat: UInt16 = 30,
        minBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(10),
        connectionName: String? = nil,
        logger: Logger = Logger(label: "easyjobs.amqp.consumer"),
        setup: @escaping @Sendable (AMQPChannel) async throws -> Void = { _ in }
    ) {
        self.url = url
        self.queue = queue
        self.prefetchCount = prefetchCount
        self.heartbeat = heartbeat
        self.minBackoff = minBackoff
        self.maxBackoff = maxBackoff
        self.connectionName = connectionName
        self.logger = logger
        self.setup = setup
    }

    /// The deliveries of every connection, one after another. The stream throws only for what
    /// retrying cannot fix (a refused login or virtual host, an invalid URL); ending the
    /// iteration closes the current connection.
    public func deliveries() -> AsyncThrowingStream<AMQPDelivery, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: AMQPDelivery.self, throwing: (any Error).self)
        let task = Task { [self] in
            do {
                try await run(continuation)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func run(_ output: AsyncThrowingStream<AMQPDelivery, any Error>.Continuation) async throws {
        var backoff = minBackoff
        while !Task.isCancelled {
            var connection: AMQPConnection?
            do {
                let connected = try await AMQPConnection.connect(url: url, heartbeat: heartbeat, connectionName: connectionName, logger: logger)
                connection = connected
                let channel = try await connected.openChannel()
                try await channel.basicQos(prefetchCount: prefetchCount)
                try await setup(channel)
                let deliveries = try await channel.consume(queue: queue)
                logger.info("consuming", metadata: ["queue": "\(queue)"])
                backoff = minBackoff
                for try await delivery in deliveries {
                    output.yield(delivery)
                }
                // A stream that ends without error: cancelled, or closed by the client.
                if Task.isCancelled { break }
                if let error = await connected.closeError { throw error }
            } catch let error as AMQPError where [AMQPError.Code.authenticationFailed, .accessRefused, .invalidArgument].contains(error.code) {
                try? await connection?.close()
                throw error
            } catch {
                logger.warning(
                    "AMQP consumer lost its connection; reconnecting",
                    metadata: [
                        "queue": "\(queue)", "error": "\(error)", "backoff": "\(backoff)",
                    ])
            }
            try? await connection?.close()
            if Task.isCancelled { break }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, maxBackoff)
        }
    }
}
