@testable import EasyJobsAMQP
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// A broker that completes the handshake with a 1 s heartbeat and then says nothing more: what
/// a dead peer behind a live TCP connection (a frozen broker, a silent network drop) looks like.
private final class SilentBroker: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var buffer = ByteBuffer()
    private var sawProtocolHeader = false
    private var decoder = AMQPFrameDecoder()
    private let heartbeatsReceived: Counter

    init(heartbeatsReceived: Counter) {
        self.heartbeatsReceived = heartbeatsReceived
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        if !sawProtocolHeader {
            guard buffer.readableBytes >= 8 else { return }
            buffer.moveReaderIndex(forwardBy: 8)
            sawProtocolHeader = true
            send(.connectionStart(versionMajor: 0, versionMinor: 9, serverProperties: [:], mechanisms: "PLAIN", locales: "en_US"), context)
        }
        while let frame = try? decoder.decode(buffer: &buffer) {
            switch frame.payload {
            case .method(.connectionStartOk): send(.connectionTune(channelMax: 0, frameMax: 131_072, heartbeat: 1), context)
            case .method(.connectionOpen): send(.connectionOpenOk, context)
            case .heartbeat: heartbeatsReceived.value.add(1, ordering: .relaxed)
            default: break
            }
        }
    }

    private func send(_ method: AMQPMethod, _ context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: 64)
        try! AMQPFrameEncoder.encode(AMQPFrame(channel: 0, payload: .method(method)), into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }
}

private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

@Suite("AMQP heartbeats", .timeLimit(.minutes(1)))
struct HeartbeatTests {
    @Test("an idle connection with a 2 s heartbeat outlives several intervals at RabbitMQ")
    func idleConnectionSurvives() async throws {
        // 2 s, not 1: with the whole test suite running on two cores, a 1 s heartbeat left the
        // client too little slack and the broker closed it.
        let connection = try await RabbitMQ.connect(heartbeat: 2)
        #expect(await connection.tuning.heartbeat == 2)
        // Not a wait for something to happen: the broker closes a client that misses two
        // heartbeats, and the client would declare a silent broker dead, within these 7 s.
        try await Task.sleep(for: .milliseconds(7000))
        let closeError = await connection.closeError
        #expect(await connection.isOpen, "\(String(describing: closeError))")
        let channel = try await connection.openChannel()
        try await channel.queueDeclare(name: RabbitMQ.uniqueName("idle"), durable: false, exclusive: true)
        try await connection.close()
    }

    @Test("heartbeats are sent at the negotiated interval and a silent broker is detected as dead")
    func silentBrokerIsDead() async throws {
        let counter = Counter()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SilentBroker(heartbeatsReceived: counter))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = try #require(server.localAddress?.port)

        let connection = try await AMQPConnection.connect(host: "127.0.0.1", port: port, heartbeat: 30)
        #expect(await connection.tuning.heartbeat == 1)
        #expect(try await eventually(timeout: .seconds(10)) { await connection.closeError != nil })
        let error = await connection.closeError
        #expect(error?.code == .heartbeatTimeout, "\(String(describing: error))")
        #expect(try await eventually { counter.value.load(ordering: .relaxed) >= 1 })
        await #expect(throws: AMQPError.self) { try await connection.openChannel() }
        try await server.close()
    }
}
