import NIOCore

/// A message the broker delivered to a consumer. Acknowledge it with ``ack(multiple:)`` once it
/// is handled, or give it back with ``nack(requeue:multiple:)``; a message neither acked nor
/// nacked is redelivered (``redelivered`` set) when its channel or connection closes.
///
/// ```swift
/// for try await delivery in try await channel.consume(queue: "jobs") {
///     print(delivery.routingKey, String(buffer: delivery.body))
///     try await delivery.ack()
/// }
/// ```
public struct AMQPDelivery: Sendable {
    /// The message's content.
    public let body: ByteBuffer
    /// The message's properties (content type, headers, delivery mode, …).
    public let properties: AMQPProperties
    /// The exchange the message was published to ("" for the default exchange).
    public let exchange: String
    /// The routing key it was published with (the job's namespace for EasyJobs).
    public let routingKey: String
    /// The channel-scoped number the acknowledgement names.
    public let deliveryTag: UInt64
    /// True when the broker delivered this message before and it was not acknowledged.
    public let redelivered: Bool
    /// The consumer the broker delivered to.
    public let consumerTag: String
    /// The channel the message came on; acknowledgements must go back on it.
    public let channel: AMQPChannel

    /// Acknowledges this message (and, with `multiple`, every earlier one of the channel).
    public func ack(multiple: Bool = false) async throws {
        try await channel.connection.send(on: channel.id, .basicAck(deliveryTag: deliveryTag, multiple: multiple))
    }

    /// Refuses this message: requeued for another delivery, or dropped (dead-lettered if the
    /// queue has a dead-letter exchange) when `requeue` is false.
    public func nack(requeue: Bool = true, multiple: Bool = false) async throws {
        try await channel.connection.send(on: channel.id, .basicNack(deliveryTag: deliveryTag, multiple: multiple, requeue: requeue))
    }
}
