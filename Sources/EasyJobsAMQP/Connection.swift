import Logging
import NIOCore
import NIOPosix

/// A connection to an AMQP 0-9-1 broker (RabbitMQ). Work happens on channels it opens.
///
/// ```swift
/// let connection = try await AMQPConnection.connect(host: "127.0.0.1", port: 5672, user: "guest", password: "guest")
/// let channel = try await connection.openChannel()
/// try await channel.queueDeclare(name: "jobs", durable: true)
/// try await channel.confirmSelect()
/// try await channel.publish(exchange: "", routingKey: "jobs", body: ByteBuffer(string: "{}"), persistent: true)
/// try await connection.close()
/// ```
///
/// All protocol state lives in this actor; frames arrive in order from one reader task, so a
/// reply is always matched against the request state as it was when the reply was sent.
public actor AMQPConnection {
    /// What client and broker agreed on in connection.tune.
    public struct Tuning: Sendable, Equatable {
        /// The highest channel number.
        public var channelMax: UInt16
        /// The largest frame, header and end octet included; bodies are split to fit.
        public var frameMax: UInt32
        /// Seconds between heartbeats; 0 when they are off.
        public var heartbeat: UInt16
    }

    enum State {
        case handshaking
        case open
        case closing
        case closed(AMQPError?)
    }

    let nioChannel: any Channel
    let logger: Logger
    /// "host:port", for messages.
    let endpoint: String

    public internal(set) var tuning = Tuning(channelMax: 2047, frameMax: 131_072, heartbeat: 0)
    /// What the broker said about itself in connection.start (product, version, capabilities).
    public internal(set) var serverProperties: AMQPFieldTable = [:]
    var state: State = .handshaking
    var channels: [UInt16: ChannelState] = [:]
    var nextChannelID: UInt16 = 1
    var nextConsumerNumber = 1
    /// Connection-level methods (channel 0) not yet taken by the handshake or close.
    private var connectionMethods: [AMQPMethod] = []
    private var connectionWaiter: CheckedContinuation<AMQPMethod, any Error>?
    private var lastInbound = ContinuousClock.now
    private var lastHeartbeatTick = ContinuousClock.now
    private var readerTask: Task<Void, Never>?
    private var heartbeatTask: Task<Void, Never>?

    init(nioChannel: any Channel, logger: Logger, endpoint: String) {
        self.nioChannel = nioChannel
        self.logger = logger
        self.endpoint = endpoint
    }

    /// Connects, authenticates with PLAIN, tunes and opens the virtual host.
    ///
    /// - Parameter heartbeat: the interval in seconds the client asks for (the broker may ask
    ///   for less); 0 turns heartbeats off. With heartbeats on, a connection that stays silent
    ///   for two intervals fails with ``AMQPError/Code/heartbeatTimeout``.
    /// - Parameter connectionName: shown by the broker (management UI, `rabbitmqctl
    ///   list_connections user_provided_name`) to tell this connection from others.
    /// - Throws: ``AMQPError`` with ``AMQPError/Code/connectionRefused`` when nothing answers,
    ///   ``AMQPError/Code/authenticationFailed`` for a wrong user or password,
    ///   ``AMQPError/Code/accessRefused`` for a virtual host the user may not open.
    public static func connect(
        host: String = "127.0.0.1",
        port: Int = 5672,
        user: String = "guest",
        password: String = "guest",
        vhost: String = "/",
        heartbeat: UInt16 = 60,
        connectionName: String? = nil,
        connectTimeout: TimeAmount = .seconds(10),
        logger: Logger = Logger(label: "easyjobs.amqp"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> AMQPConnection {
        let endpoint = "\(host):\(port)"
        let (frames, continuation) = AsyncThrowingStream.makeStream(of: AMQPFrame.self, throwing: (any Error).self)
        let nioChannel: any Channel
        do {
            nioChannel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let operations = channel.pipeline.syncOperations
                        try operations.addHandler(ByteToMessageHandler(AMQPFrameDecoder()))
                        try operations.addHandler(MessageToByteHandler(AMQPFrameEncoder()))
                        try operations.addHandler(AMQPFrameForwarder(continuation))
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            throw AMQPError(.connectionRefused, "cannot connect to the AMQP broker at \(endpoint): \(error)")
        }
        let connection = AMQPConnection(nioChannel: nioChannel, logger: logger, endpoint: endpoint)
        do {
            try await connection.handshake(
                frames: frames, user: user, password: password, vhost: vhost, heartbeat: heartbeat, connectionName: connectionName)
        } catch {
            let amqpError = error as? AMQPError ?? AMQPError(.protocolError, "\(error)")
            await connection.fail(amqpError)
            throw amqpError
        }
        return connection
    }

    /// Connects to an `amqp://user:password@host:port/vhost` URL (the vhost percent-encoded,
    /// so `/` is `%2F`; an empty path is the default vhost `/`).
    public static func connect(
        url: String,
        heartbeat: UInt16 = 60,
        connectionName: String? = nil,
        logger: Logger = Logger(label: "easyjobs.amqp")
    ) async throws -> AMQPConnection {
        let parsed = try AMQPURL(url)
        return try await connect(
            host: parsed.host, port: parsed.port, user: parsed.user, password: parsed.password,
            vhost: parsed.vhost, heartbeat: heartbeat, connectionName: connectionName, logger: logger
        )
    }

    // MARK: Handshake

    private func handshake(
        frames: AsyncThrowingStream<AMQPFrame, any Error>,
        user: String, password: String, vhost: String, heartbeat: UInt16, connectionName: String?
    ) async throws {
        readerTask = Task { await self.readLoop(frames) }
        write(.protocolHeader)

        guard case .connectionStart(_, _, let properties, let mechanisms, _) = try await nextConnectionMethod() else {
            throw AMQPError(.protocolError, "the broker at \(endpoint) did not start with connection.start")
        }
        serverProperties = properties
        guard mechanisms.split(separator: " ").contains("PLAIN") else {
            throw AMQPError(.protocolError, "the broker at \(endpoint) does not offer PLAIN authentication (it offers \(mechanisms))")
        }
        let capabilities: AMQPFieldTable = [
            "publisher_confirms": .bool(true),
            "consumer_cancel_notify": .bool(true),
            "basic.nack": .bool(true),
            "connection.blocked": .bool(true),
            // Without it RabbitMQ answers a wrong password by dropping the socket, unexplained.
            "authentication_failure_close": .bool(true),
        ]
        var clientProperties: AMQPFieldTable = ["product": .string("EasyJobs"), "platform": .string("Swift"), "capabilities": .table(capabilities)]
        if let connectionName { clientProperties["connection_name"] = .string(connectionName) }
        write(
            0,
            .connectionStartOk(
                clientProperties: clientProperties,
                mechanism: "PLAIN", response: "\u{0}\(user)\u{0}\(password)", locale: "en_US"
            ))

        let tune: AMQPMethod
        do {
            tune = try await nextConnectionMethod()
        } catch let error as AMQPError where error.replyCode == 403 || error.code == .connectionLost {
            throw AMQPError(
                .authenticationFailed, "the broker at \(endpoint) refused user '\(user)': \(error.message)", replyCode: error.replyCode ?? 403)
        }
        guard case .connectionTune(let channelMax, let frameMax, let serverHeartbeat) = tune else {
            throw AMQPError(.protocolError, "expected connection.tune, got \(tune.name)")
        }
        tuning = Tuning(
            channelMax: channelMax == 0 ? 2047 : min(channelMax, 2047),
            frameMax: frameMax == 0 ? 131_072 : min(frameMax, 131_072),
            heartbeat: heartbeat == 0 ? 0 : (serverHeartbeat == 0 ? heartbeat : min(serverHeartbeat, heartbeat))
        )
        write(0, .connectionTuneOk(channelMax: tuning.channelMax, frameMax: tuning.frameMax, heartbeat: tuning.heartbeat))
        write(0, .connectionOpen(virtualHost: vhost))
        do {
            guard case .connectionOpenOk = try await nextConnectionMethod() else {
                throw AMQPError(.protocolError, "expected connection.open-ok")
            }
        } catch let error as AMQPError where error.replyCode == 403 || error.replyCode == 530 {
            throw AMQPError(.accessRefused, "user '\(user)' may not open virtual host '\(vhost)': \(error.message)", replyCode: error.replyCode)
        }
        state = .open
        startHeartbeats()
        logger.debug(
            "AMQP connection open", metadata: ["endpoint": "\(endpoint)", "heartbeat": "\(tuning.heartbeat)", "frame_max": "\(tuning.frameMax)"])
    }

    private func nextConnectionMethod() async throws -> AMQPMethod {
        if !connectionMethods.isEmpty { return connectionMethods.removeFirst() }
        if case .closed(let error) = state {
            throw error ?? AMQPError(.connectionClosed, "the connection to \(endpoint) is closed")
        }
        return try await withCheckedThrowingContinuation { connectionWaiter = $0 }
    }

    // MARK: Closing

    /// Closes every channel and the connection (connection.close, waiting for close-ok). Call it:
    /// a connection not closed lives as long as its TCP connection, reader task included.
    /// Consumers' streams end without error; unacknowledged messages go back to their queues.
    public func close() async throws {
        guard case .open = state else { return }
        state = .closing
        write(0, .connectionClose(replyCode: 200, replyText: "Goodbye", classID: 0, methodID: 0))
        do {
            while true {
                if case .connectionCloseOk = try await nextConnectionMethod() { break }
            }
        } catch {
            // The broker may drop the socket right after close-ok; the connection is closed either way.
        }
        finish(nil)
    }

    /// Whether the connection is open (not closing, not failed).
    public var isOpen: Bool {
        if case .open = state { return true }
        return false
    }

    /// Why the connection ended, once it has; nil while it is open or after a clean close.
    public var closeError: AMQPError? {
        if case .closed(let error) = state { return error }
        return nil
    }

    /// Ends the connection with an error: every waiter, confirm and consumer fails with it.
    func fail(_ error: AMQPError) {
        if case .closed = state { return }
        logger.debug("AMQP connection failed", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
        finish(error)
    }

    private func finish(_ error: AMQPError?) {
        if case .closed = state { return }
        state = .closed(error)
        heartbeatTask?.cancel()
        if let waiter = connectionWaiter {
            connectionWaiter = nil
            waiter.resume(throwing: error ?? AMQPError(.connectionClosed, "the connection to \(endpoint) was closed by the client", replyCode: 200))
        }
        for id in channels.keys {
            closeChannelState(
                id, error ?? AMQPError(.connectionClosed, "the connection to \(endpoint) was closed by the client", replyCode: 200),
                clean: error == nil)
        }
        nioChannel.close(promise: nil)
    }

    // MARK: Reading

    private func readLoop(_ frames: AsyncThrowingStream<AMQPFrame, any Error>) async {
        do {
            for try await frame in frames {
                handle(frame)
            }
            connectionEnded(AMQPError(.connectionLost, "the broker at \(endpoint) closed the TCP connection"))
        } catch let error as AMQPError {
            connectionEnded(error)
        } catch {
            connectionEnded(AMQPError(.connectionLost, "the connection to \(endpoint) failed: \(error)"))
        }
    }

    private func connectionEnded(_ error: AMQPError) {
        if case .closing = state {
            finish(nil)
        } else {
            fail(error)
        }
    }

    private func handle(_ frame: AMQPFrame) {
        lastInbound = .now
        if frame.channel == 0 {
            switch frame.payload {
            case .heartbeat:
                break
            case .method(let method):
                handleConnectionMethod(method)
            case .header, .body:
                fail(AMQPError(.protocolError, "content on channel 0"))
            }
            return
        }
        handleChannelFrame(frame)
    }

    private func handleConnectionMethod(_ method: AMQPMethod) {
        switch method {
        case .connectionClose(let code, let text, let classID, let methodID):
            write(0, .connectionCloseOk)
            let cause = classID == 0 ? "" : " (after \(AMQPMethod.name(classID: classID, methodID: methodID)))"
            let error = AMQPError(.connectionClosed, "the broker closed the connection: \(text)\(cause)", replyCode: code)
            if let waiter = connectionWaiter {
                // The handshake maps this onto authentication or access errors.
                connectionWaiter = nil
                waiter.resume(throwing: error)
            }
            fail(error)
        case .connectionBlocked(let reason):
            logger.warning("the AMQP broker blocks publishing", metadata: ["reason": "\(reason)"])
        case .connectionUnblocked:
            logger.info("the AMQP broker unblocked publishing")
        default:
            if let waiter = connectionWaiter {
                connectionWaiter = nil
                waiter.resume(returning: method)
            } else {
                connectionMethods.append(method)
            }
        }
    }

    // MARK: Writing

    func write(_ outbound: AMQPOutbound) {
        // Writes from the actor reach the event loop in call order, so a publish's frames and
        // the order of confirm sequence numbers are preserved.
        nioChannel.writeAndFlush(outbound, promise: nil)
    }

    func write(_ channel: UInt16, _ method: AMQPMethod) {
        write(.frames([AMQPFrame(channel: channel, payload: .method(method))]))
    }

    // MARK: Heartbeats

    private func startHeartbeats() {
        guard tuning.heartbeat > 0 else { return }
        let interval = Duration.seconds(Int(tuning.heartbeat))
        lastHeartbeatTick = .now
        heartbeatTask = Task { [weak self] in
            while !Task.isCancelled {
                // Half the interval: a heartbeat late by scheduling still arrives in time.
                try? await Task.sleep(for: interval / 2)
                guard let self, !Task.isCancelled else { return }
                await self.heartbeatTick(interval)
            }
        }
    }

    private func heartbeatTick(_ interval: Duration) {
        guard case .open = state else { return }
        let now = ContinuousClock.now
        // A tick much later than planned means this process was starved (a loaded machine, a
        // debugger): frames may be waiting unread, so silence proves nothing this time.
        let starved = now - lastHeartbeatTick > interval
        lastHeartbeatTick = now
        let silence = now - lastInbound
        if silence > interval * 2, !starved {
            fail(
                AMQPError(.heartbeatTimeout, "no frame from the broker at \(endpoint) for \(silence) (heartbeat \(interval)): the connection is dead")
            )
            return
        }
        write(.frames([AMQPFrame(channel: 0, payload: .heartbeat)]))
    }
}
