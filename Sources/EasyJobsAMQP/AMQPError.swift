/// What went wrong talking to an AMQP broker: a stable ``Code`` to match on, a message naming
/// the cause and, when the broker closed the connection or a channel, its reply code and text.
///
/// ```swift
/// do {
///     _ = try await AMQPConnection.connect(host: "127.0.0.1", user: "guest", password: "wrong")
/// } catch let error as AMQPError where error.code == .authenticationFailed {
///     print(error.replyCode ?? 0, error.message)  // 403 ACCESS_REFUSED - Login was refused …
/// }
/// ```
public struct AMQPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable identifier of the kind of failure; the message may change, the code does not.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The stable identifier, e.g. `amqp.authentication_failed`.
        public let rawValue: String
        /// A code; the predefined ones below cover every error this client throws.
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Nothing listens on the host and port, or the host cannot be reached.
        public static let connectionRefused = Code(rawValue: "amqp.connection_refused")
        /// The broker refused the user name or password (ACCESS_REFUSED, 403).
        public static let authenticationFailed = Code(rawValue: "amqp.authentication_failed")
        /// The broker refused the virtual host (NOT_ALLOWED 530 or ACCESS_REFUSED on open).
        public static let accessRefused = Code(rawValue: "amqp.access_refused")
        /// The broker closed the connection (connection.close); see `replyCode` and `message`.
        public static let connectionClosed = Code(rawValue: "amqp.connection_closed")
        /// The TCP connection ended without a connection.close.
        public static let connectionLost = Code(rawValue: "amqp.connection_lost")
        /// No frame arrived for two heartbeat intervals: the peer or the network is dead.
        public static let heartbeatTimeout = Code(rawValue: "amqp.heartbeat_timeout")
        /// The broker closed the channel (channel.close); see `replyCode` and `message`.
        public static let channelClosed = Code(rawValue: "amqp.channel_closed")
        /// The broker cancelled a consumer (basic.cancel): its queue was deleted or its node went down.
        public static let consumerCancelled = Code(rawValue: "amqp.consumer_cancelled")
        /// A mandatory publish matched no queue: the broker returned it (312 NO_ROUTE).
        public static let unroutable = Code(rawValue: "amqp.unroutable")
        /// The broker answered a publish in confirm mode with basic.nack.
        public static let publishNacked = Code(rawValue: "amqp.publish_nacked")
        /// A frame or method the client cannot parse or did not expect.
        public static let protocolError = Code(rawValue: "amqp.protocol_error")
        /// The URL, or another argument, is not usable.
        public static let invalidArgument = Code(rawValue: "amqp.invalid_argument")
    }

    /// What kind of failure this is; match on it, not on the message.
    public let code: Code
    /// What went wrong, for people: the endpoint, the user, the broker's reply text.
    public let message: String
    /// The broker's reply code (e.g. 403 ACCESS_REFUSED, 404 NOT_FOUND, 406 PRECONDITION_FAILED).
    public let replyCode: UInt16?

    /// An error of `code`; `replyCode` when the broker sent one.
    public init(_ code: Code, _ message: String, replyCode: UInt16? = nil) {
        self.code = code
        self.message = message
        self.replyCode = replyCode
    }

    public var description: String {
        if let replyCode { return "\(code) (\(replyCode)): \(message)" }
        return "\(code): \(message)"
    }
}
