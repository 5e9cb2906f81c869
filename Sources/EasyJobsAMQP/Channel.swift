import NIOCore

/// A channel of an ``AMQPConnection``: declarations, publishing and consuming. A handle; the
/// state lives in the connection. When the broker closes the channel (a declaration that
/// conflicts with an existing queue, a publish to a missing exchange, …) every later call
/// throws ``AMQPError/Code/channelClosed`` with the broker's reply code and text.
///
/// ```swift
/// let channel = try await connection.openChannel()
/// try await channel.exchangeDeclare(name: "easyjobs", type: "direct", durable: true)
/// try await channel.queueDeclare(name: "easyjobs.etl", durable: true)
/// try await channel.queueBind(queue: "easyjobs.etl", exchange: "easyjobs", routingKey: "etl")
/// try await channel.basicQos(prefetchCount: 10)
/// for try await delivery in try await channel.consume(queue: "easyjobs.etl") {
///     try await delivery.ack()
/// }
/// ```
public struct AMQPChannel: Sendable {
    /// The channel number within its connection (from 1).
    public let id: UInt16
    /// The connection the channel belongs to.
    public let connection: AMQPConnection

    /// Declares a queue (creating it unless it exists with the same settings) and returns the
    /// name (the broker's choice when `name` is empty), the number of ready messages and of consumers.
    @discardableResult
    public func queueDeclare(
        name: String, durable: Bool = true, exclusive: Bool = false, autoDelete: Bool = false,
        passive: Bool = false, arguments: AMQPFieldTable = [:]
    ) async throws -> (name: String, messageCount: UInt32, consumerCount: UInt32) {
        let reply = try await connection.request(
            on: id,
            .queueDeclare(
                queue: name, passive: passive, durable: durable, exclusive: exclusive, autoDelete: autoDelete, noWait: false, arguments: arguments
            ))
        guard case .queueDeclareOk(let queue, let messages, let consumers) = reply else {
            throw AMQPError(.protocolError, "expected queue.declare-ok, got \(reply.name)")
        }
        return (queue, messages, consumers)
    }

    /// Declares an exchange; `type` is "direct", "topic", "fanout" or "headers".
    public func exchangeDeclare(
        name: String, type: String = "direct", durable: Bool = true, autoDelete: Bool = false,
        passive: Bool = false, arguments: AMQPFieldTable = [:]
    ) async throws {
        _ = try await connection.request(
            on: id,
            .exchangeDeclare(
                exchange: name, type: type, passive: passive, durable: durable, autoDelete: autoDelete,
                internal: false, noWait: false, arguments: arguments
            ))
    }

    /// Deletes a queue and returns how many messages it held; its consumers are cancelled.
    @discardableResult
    public func queueDelete(name: String, ifUnused: Bool = false, ifEmpty: Bool = false) async throws -> UInt32 {
        let reply = try await connection.request(on: id, .queueDelete(queue: name, ifUnused: ifUnused, ifEmpty: ifEmpty, noWait: false))
        guard case .queueDeleteOk(let messages) = reply else {
            throw AMQPError(.protocolError, "expected queue.delete-ok, got \(reply.name)")
        }
        return messages
    }

    /// Routes messages of `exchange` whose routing key matches `routingKey` to `queue`.
    public func queueBind(queue: String, exchange: String, routingKey: String, arguments: AMQPFieldTable = [:]) async throws {
        _ = try await connection.request(
            on: id, .queueBind(queue: queue, exchange: exchange, routingKey: routingKey, noWait: false, arguments: arguments))
    }

    /// Limits the unacknowledged deliveries a consumer of this channel holds at once.
    public func basicQos(prefetchCount: UInt16, global: Bool = false) async throws {
        _ = try await connection.request(on: id, .basicQos(prefetchSize: 0, prefetchCount: prefetchCount, global: global))
    }

    /// Puts the channel in confirm mode: from then on ``publish(exchange:routingKey:body:persistent:properties:mandatory:)``
    /// returns only when the broker has taken responsibility for the message.
    public func confirmSelect() async throws {
        try await connection.confirmSelect(on: id)
    }

    /// Publishes a message. In confirm mode, returns when the broker acknowledges it (for a
    /// persistent message to a durable queue: once written to disk) and throws
    /// ``AMQPError/Code/publishNacked`` when the broker refuses it; otherwise returns once written.
    /// With `mandatory` in confirm mode, a message no queue is bound for throws
    /// ``AMQPError/Code/unroutable`` (the message carries an `x-easyjobs-publish-seq` header
    /// so that the broker's basic.return can be matched to it); without it, such a message is
    /// dropped by the broker and the publish succeeds.
    public func publish(
        exchange: String = "", routingKey: String, body: ByteBuffer, persistent: Bool = true,
        properties: AMQPProperties = AMQPProperties(), mandatory: Bool = false
    ) async throws {
        var properties = properties
        if persistent { properties.deliveryMode = 2 } else if properties.deliveryMode == nil { properties.deliveryMode = 1 }
        try await connection.publish(on: id, exchange: exchange, routingKey: routingKey, body: body, properties: properties, mandatory: mandatory)
    }

    /// Starts a consumer with manual acknowledgement. Call ``basicQos(prefetchCount:global:)``
    /// first: without a prefetch limit the broker pushes the whole queue into the stream's
    /// buffer. The stream ends when the channel or
    /// connection is closed by the client, and throws when the broker closes it, the
    /// connection is lost or the broker cancels the consumer (e.g. the queue was deleted).
    /// Ending the iteration (cancelling the task) cancels the consumer.
    public func consume(queue: String, exclusive: Bool = false, arguments: AMQPFieldTable = [:]) async throws -> AsyncThrowingStream<
        AMQPDelivery, any Error
    > {
        try await connection.consume(on: id, queue: queue, exclusive: exclusive, arguments: arguments)
    }

    /// Closes the channel; unacknowledged deliveries go back to their queues.
    public func close() async throws {
        try await connection.closeChannel(id)
    }
}

extension AMQPConnection {
    /// The header that numbers a mandatory publish in confirm mode (consumers see it too).
    static let publishTagHeader = "x-easyjobs-publish-seq"

    /// Opens a new channel.
    public func openChannel() async throws -> AMQPChannel {
        try checkOpen()
        var id = nextChannelID
        // Wrap around the negotiated maximum, skipping channels still open.
        while let existing = channels[id], existing.closedError == nil {
            id = id >= tuning.channelMax ? 1 : id + 1
            if id == nextChannelID {
                throw AMQPError(.invalidArgument, "all \(tuning.channelMax) channels of the connection are open")
            }
        }
        nextChannelID = id >= tuning.channelMax ? 1 : id + 1
        channels[id] = ChannelState()
        _ = try await request(on: id, .channelOpen)
        return AMQPChannel(id: id, connection: self)
    }

    func checkOpen() throws {
        switch state {
        case .open: return
        case .handshaking, .closing: throw AMQPError(.connectionClosed, "the connection to \(endpoint) is not open")
        case .closed(let error): throw error ?? AMQPError(.connectionClosed, "the connection to \(endpoint) was closed by the client", replyCode: 200)
        }
    }

    /// Throws unless the connection and the channel are open.
    func checkChannel(_ id: UInt16) throws {
        try checkOpen()
        guard let channel = channels[id] else { throw AMQPError(.channelClosed, "channel \(id) is not open") }
        if let error = channel.closedError { throw error }
    }

    /// Sends a method that expects no answer (basic.ack, basic.nack).
    func send(on id: UInt16, _ method: AMQPMethod) throws {
        try checkChannel(id)
        write(id, method)
    }

    /// Sends a synchronous request and waits for the broker's answer.
    func request(on id: UInt16, _ method: AMQPMethod) async throws -> AMQPMethod {
        try checkChannel(id)
        return try await withCheckedThrowingContinuation { continuation in
            channels[id]!.replyWaiters.append(continuation)
            write(id, method)
        }
    }

    func confirmSelect(on id: UInt16) async throws {
        if channels[id]?.confirmMode == true { return }
        _ = try await request(on: id, .confirmSelect(noWait: false))
        channels[id]?.confirmMode = true
    }

    func publish(on id: UInt16, exchange: String, routingKey: String, body: ByteBuffer, properties: AMQPProperties, mandatory: Bool) async throws {
        try checkChannel(id)
        let confirmMode = channels[id]!.confirmMode
        // Numbered here, with no suspension before the frames are written, so the numbers
        // follow the order in which the broker receives the messages.
        let tag = channels[id]!.nextPublishTag
        if confirmMode { channels[id]!.nextPublishTag += 1 }
        var properties = properties
        if confirmMode && mandatory {
            // A basic.return does not say which publish it returns; this header does.
            properties.headers = (properties.headers ?? [:]).merging([AMQPConnection.publishTagHeader: .int64(Int64(tag))]) { $1 }
        }
        var frames = [
            AMQPFrame(
                channel: id, payload: .method(.basicPublish(exchange: exchange, routingKey: routingKey, mandatory: mandatory, immediate: false))),
            AMQPFrame(channel: id, payload: .header(AMQPContentHeader(bodySize: UInt64(body.readableBytes), properties: properties))),
        ]
        let chunk = Int(tuning.frameMax) - AMQPFrame.overhead
        var rest = body
        while rest.readableBytes > 0 {
            frames.append(AMQPFrame(channel: id, payload: .body(rest.readSlice(length: min(chunk, rest.readableBytes))!)))
        }
        guard confirmMode else {
            try await nioChannel.writeAndFlush(AMQPOutbound.frames(frames))
            return
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            channels[id]!.unconfirmed.append((tag, continuation))
            write(.frames(frames))
        }
    }

    func consume(on id: UInt16, queue: String, exclusive: Bool, arguments: AMQPFieldTable) async throws -> AsyncThrowingStream<
        AMQPDelivery, any Error
    > {
        try checkChannel(id)
        // The tag is the client's so that the stream is registered before basic.consume-ok:
        // deliveries may follow it immediately.
        let tag = "easyjobs-\(id)-\(nextConsumerNumber)"
        nextConsumerNumber += 1
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: AMQPDelivery.self, throwing: (any Error).self)
        continuation.onTermination = { [weak self] termination in
            guard case .cancelled = termination, let self else { return }
            Task { await self.cancelConsumer(tag, on: id) }
        }
        channels[id]!.consumers[tag] = continuation
        do {
            _ = try await request(
                on: id,
                .basicConsume(queue: queue, consumerTag: tag, noLocal: false, noAck: false, exclusive: exclusive, noWait: false, arguments: arguments)
            )
        } catch {
            channels[id]?.consumers[tag] = nil
            continuation.finish(throwing: error)
            throw error
        }
        return stream
    }

    private func cancelConsumer(_ tag: String, on id: UInt16) {
        guard channels[id]?.consumers.removeValue(forKey: tag) != nil, (try? checkChannel(id)) != nil else { return }
        write(id, .basicCancel(consumerTag: tag, noWait: true))
    }

    func closeChannel(_ id: UInt16) async throws {
        guard (try? checkChannel(id)) != nil else { return }
        _ = try await request(on: id, .channelClose(replyCode: 200, replyText: "Goodbye", classID: 0, methodID: 0))
        closeChannelState(id, AMQPError(.channelClosed, "channel \(id) was closed by the client", replyCode: 200), clean: true)
    }

    /// Marks a channel closed and fails what waits on it. Consumers end cleanly when the client
    /// closed the channel, with the error otherwise.
    func closeChannelState(_ id: UInt16, _ error: AMQPError, clean: Bool) {
        guard var channel = channels[id], channel.closedError == nil else { return }
        channel.closedError = error
        let waiters = channel.replyWaiters
        let unconfirmed = channel.unconfirmed
        let consumers = channel.consumers
        channel.replyWaiters = []
        channel.unconfirmed = []
        channel.consumers = [:]
        channel.incoming = nil
        channels[id] = channel
        for waiter in waiters { waiter.resume(throwing: error) }
        for entry in unconfirmed { entry.continuation.resume(throwing: error) }
        for consumer in consumers.values {
            if clean { consumer.finish() } else { consumer.finish(throwing: error) }
        }
    }

    // MARK: Frames of a channel

    func handleChannelFrame(_ frame: AMQPFrame) {
        let id = frame.channel
        guard channels[id] != nil else {
            logger.debug("AMQP frame for an unknown channel", metadata: ["channel": "\(id)"])
            return
        }
        switch frame.payload {
        case .method(let method):
            handleChannelMethod(method, on: id)
        case .header(let header):
            guard channels[id]!.incoming != nil else {
                return fail(AMQPError(.protocolError, "a content header without a method on channel \(id)"))
            }
            channels[id]!.incoming!.header = header
            // One allocation for the body rather than doublings; capped so that a bogus size
            // cannot reserve memory the frames never fill.
            channels[id]!.incoming!.body.reserveCapacity(Int(min(header.bodySize, 16 << 20)))
            completeContentIfReady(on: id)
        case .body(var body):
            guard channels[id]!.incoming?.header != nil else {
                return fail(AMQPError(.protocolError, "a body frame without a header on channel \(id)"))
            }
            channels[id]!.incoming!.body.writeBuffer(&body)
            completeContentIfReady(on: id)
        case .heartbeat:
            fail(AMQPError(.protocolError, "a heartbeat on channel \(id)"))
        }
    }

    private func handleChannelMethod(_ method: AMQPMethod, on id: UInt16) {
        switch method {
        case .channelClose(let code, let text, let classID, let methodID):
            write(id, .channelCloseOk)
            let cause = classID == 0 ? "" : " (after \(AMQPMethod.name(classID: classID, methodID: methodID)))"
            closeChannelState(id, AMQPError(.channelClosed, "the broker closed channel \(id): \(text)\(cause)", replyCode: code), clean: false)
        case .channelFlow(let active):
            write(id, .channelFlowOk(active: active))
        case .basicAck(let tag, let multiple):
            channels[id]!.confirm(tag, multiple: multiple, error: nil)
        case .basicNack(let tag, let multiple, _):
            channels[id]!.confirm(
                tag, multiple: multiple, error: AMQPError(.publishNacked, "the broker refused message \(tag) on channel \(id) (basic.nack)"))
        case .basicCancel(let tag, let noWait):
            // The broker cancels a consumer whose queue was deleted or whose node failed.
            if let consumer = channels[id]!.consumers.removeValue(forKey: tag) {
                consumer.finish(
                    throwing: AMQPError(
                        .consumerCancelled, "the broker cancelled consumer \(tag) on channel \(id) (its queue was deleted, or its node went down)"))
            }
            if !noWait { write(id, .basicCancelOk(consumerTag: tag)) }
        case .basicDeliver, .basicReturn:
            channels[id]!.incoming = ChannelState.IncomingContent(method: method)
        default:
            guard method.isChannelReply, !channels[id]!.replyWaiters.isEmpty else {
                return fail(AMQPError(.protocolError, "unexpected \(method.name) on channel \(id)"))
            }
            channels[id]!.replyWaiters.removeFirst().resume(returning: method)
        }
    }

    private func completeContentIfReady(on id: UInt16) {
        guard let incoming = channels[id]!.incoming, let header = incoming.header,
            UInt64(incoming.body.readableBytes) >= header.bodySize
        else { return }
        channels[id]!.incoming = nil
        switch incoming.method {
        case .basicDeliver(let consumerTag, let deliveryTag, let redelivered, let exchange, let routingKey):
            let delivery = AMQPDelivery(
                body: incoming.body, properties: header.properties, exchange: exchange, routingKey: routingKey,
                deliveryTag: deliveryTag, redelivered: redelivered, consumerTag: consumerTag,
                channel: AMQPChannel(id: id, connection: self)
            )
            // A delivery for a consumer cancelled by the client stays unacknowledged and is
            // requeued when the channel closes.
            channels[id]!.consumers[consumerTag]?.yield(delivery)
        case .basicReturn(let code, let text, let exchange, let routingKey):
            if case .int64(let tag)? = header.properties.headers?[AMQPConnection.publishTagHeader] {
                channels[id]!.returned[UInt64(tag)] = AMQPError(
                    .unroutable, "the broker returned the message to exchange '\(exchange)' with routing key '\(routingKey)': \(text)",
                    replyCode: code
                )
                return
            }
            logger.warning(
                "the AMQP broker returned an unroutable message",
                metadata: [
                    "reply_code": "\(code)", "reply_text": "\(text)", "exchange": "\(exchange)", "routing_key": "\(routingKey)",
                ])
        default:
            break
        }
    }
}
