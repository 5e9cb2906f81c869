import NIOCore

/// What the connection keeps per open channel.
struct ChannelState {
    /// Synchronous requests sent and not answered yet, answered in order.
    var replyWaiters: [CheckedContinuation<AMQPMethod, any Error>] = []
    /// Set once the channel is closed; every later operation throws it.
    var closedError: AMQPError?
    var confirmMode = false
    /// The broker numbers publishes from 1 after confirm.select.
    var nextPublishTag: UInt64 = 1
    /// Publishes awaiting basic.ack/nack, in sequence order.
    var unconfirmed: [(tag: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    /// Mandatory publishes the broker returned, by sequence number; their confirm fails.
    var returned: [UInt64: AMQPError] = [:]
    var consumers: [String: AsyncThrowingStream<AMQPDelivery, any Error>.Continuation] = [:]
    /// A basic.deliver or basic.return whose header and body frames are still arriving.
    var incoming: IncomingContent?

    struct IncomingContent {
        var method: AMQPMethod
        var header: AMQPContentHeader?
        var body = ByteBuffer()
    }

    /// Resolves confirms up to `tag` (or only `tag`), failing them with `error` for a nack.
    mutating func confirm(_ tag: UInt64, multiple: Bool, error: AMQPError?) {
        var resolved: [(tag: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        unconfirmed.removeAll { entry in
            guard entry.tag == tag || (multiple && entry.tag < tag) else { return false }
            resolved.append(entry)
            return true
        }
        for (tag, continuation) in resolved {
            // RabbitMQ sends basic.return before the basic.ack of the same message.
            if let error = error ?? returned.removeValue(forKey: tag) {
                continuation.resume(throwing: error)
            } else {
                continuation.resume()
            }
        }
    }
}
