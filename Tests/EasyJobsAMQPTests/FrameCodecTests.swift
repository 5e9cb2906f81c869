@testable import EasyJobsAMQP
import NIOCore
import Testing

@Suite("AMQP frame codec", .timeLimit(.minutes(1)))
struct FrameCodecTests {
    private func roundTrip(_ frame: AMQPFrame) throws -> AMQPFrame? {
        var buffer = ByteBuffer()
        try AMQPFrameEncoder.encode(frame, into: &buffer)
        var decoder = AMQPFrameDecoder()
        let decoded = try decoder.decode(buffer: &buffer)
        #expect(buffer.readableBytes == 0)
        return decoded
    }

    @Test("a method frame is type 1, channel, size, class, method, arguments and 0xCE")
    func methodFrameBytes() throws {
        var buffer = ByteBuffer()
        try AMQPFrameEncoder.encode(AMQPFrame(channel: 3, payload: .method(.basicAck(deliveryTag: 7, multiple: true))), into: &buffer)
        #expect(
            Array(buffer.readableBytesView) == [
                1, 0, 3, 0, 0, 0, 13,  // type, channel, size
                0, 60, 0, 80,  // basic.ack
                0, 0, 0, 0, 0, 0, 0, 7,  // delivery tag
                1,  // multiple
                0xCE,
            ])
    }

    @Test(
        "every method this client knows survives encoding and decoding",
        arguments: [
            AMQPMethod.connectionStart(
                versionMajor: 0, versionMinor: 9, serverProperties: ["product": .string("RabbitMQ")], mechanisms: "PLAIN AMQPLAIN", locales: "en_US"),
            .connectionStartOk(
                clientProperties: ["capabilities": .table(["basic.nack": .bool(true)])], mechanism: "PLAIN", response: "\u{0}guest\u{0}guest",
                locale: "en_US"),
            .connectionTune(channelMax: 2047, frameMax: 131_072, heartbeat: 60),
            .connectionTuneOk(channelMax: 2047, frameMax: 131_072, heartbeat: 60),
            .connectionOpen(virtualHost: "/"), .connectionOpenOk,
            .connectionClose(replyCode: 320, replyText: "CONNECTION_FORCED", classID: 0, methodID: 0), .connectionCloseOk,
            .connectionBlocked(reason: "low on memory"), .connectionUnblocked,
            .channelOpen, .channelOpenOk, .channelFlow(active: true), .channelFlowOk(active: false),
            .channelClose(replyCode: 406, replyText: "PRECONDITION_FAILED", classID: 50, methodID: 10), .channelCloseOk,
            .exchangeDeclare(
                exchange: "easyjobs", type: "direct", passive: false, durable: true, autoDelete: false, internal: true, noWait: false, arguments: [:]),
            .exchangeDeclareOk,
            .queueDeclare(
                queue: "q", passive: true, durable: false, exclusive: true, autoDelete: false, noWait: true, arguments: ["x-max-length": .int32(10)]),
            .queueDeclareOk(queue: "q", messageCount: 5, consumerCount: 1),
            .queueBind(queue: "q", exchange: "e", routingKey: "etl", noWait: false, arguments: [:]), .queueBindOk,
            .queueDelete(queue: "q", ifUnused: false, ifEmpty: true, noWait: false), .queueDeleteOk(messageCount: 3),
            .basicQos(prefetchSize: 0, prefetchCount: 10, global: true), .basicQosOk,
            .basicConsume(queue: "q", consumerTag: "c", noLocal: false, noAck: true, exclusive: false, noWait: true, arguments: [:]),
            .basicConsumeOk(consumerTag: "c"), .basicCancel(consumerTag: "c", noWait: true), .basicCancelOk(consumerTag: "c"),
            .basicPublish(exchange: "", routingKey: "q", mandatory: true, immediate: false),
            .basicReturn(replyCode: 312, replyText: "NO_ROUTE", exchange: "e", routingKey: "k"),
            .basicDeliver(consumerTag: "c", deliveryTag: 1 << 40, redelivered: true, exchange: "e", routingKey: "k"),
            .basicAck(deliveryTag: 9, multiple: false), .basicReject(deliveryTag: 9, requeue: true),
            .basicNack(deliveryTag: 9, multiple: false, requeue: true),
            .confirmSelect(noWait: false), .confirmSelectOk,
        ])
    func methodRoundTrip(method: AMQPMethod) throws {
        #expect(try roundTrip(AMQPFrame(channel: 1, payload: .method(method))) == AMQPFrame(channel: 1, payload: .method(method)))
    }

    @Test("field tables carry every value type")
    func fieldTable() throws {
        let table: AMQPFieldTable = [
            "bool": .bool(true), "int8": .int8(-8), "uint8": .uint8(8), "int16": .int16(-16), "uint16": .uint16(16),
            "int32": .int32(-32), "uint32": .uint32(32), "int64": .int64(-64), "float": .float(1.5), "double": .double(-2.25),
            "decimal": .decimal(scale: 2, value: 12345), "string": .string("héllo"), "bytes": .bytes([0, 1, 255]),
            "timestamp": .timestamp(1_700_000_000), "table": .table(["nested": .array([.int32(1), .string("two"), .void])]),
            "void": .void,
        ]
        var buffer = ByteBuffer()
        try buffer.writeFieldTable(table)
        #expect(try buffer.readFieldTable() == table)
        #expect(buffer.readableBytes == 0)
    }

    @Test("a content header carries the properties that are set, and only those")
    func contentHeader() throws {
        var properties = AMQPProperties()
        properties.contentType = "application/json"
        properties.headers = ["attempt": .int32(2)]
        properties.deliveryMode = 2
        properties.messageID = "job-1"
        properties.timestamp = 42
        properties.appID = "easyjobs"
        let header = AMQPContentHeader(bodySize: 1 << 33, properties: properties)
        #expect(try roundTrip(AMQPFrame(channel: 2, payload: .header(header))) == AMQPFrame(channel: 2, payload: .header(header)))
    }

    @Test("body and heartbeat frames; a partial frame waits for more bytes")
    func bodyAndHeartbeat() throws {
        #expect(try roundTrip(AMQPFrame(channel: 0, payload: .heartbeat)) == AMQPFrame(channel: 0, payload: .heartbeat))
        let body = AMQPFrame(channel: 5, payload: .body(ByteBuffer(string: "payload")))
        var buffer = ByteBuffer()
        try AMQPFrameEncoder.encode(body, into: &buffer)
        var decoder = AMQPFrameDecoder()
        var partial = buffer.getSlice(at: 0, length: buffer.readableBytes - 1)!
        #expect(try decoder.decode(buffer: &partial) == nil)
        #expect(try decoder.decode(buffer: &buffer) == body)
    }

    @Test("a broker of another protocol version, a bad frame end and an oversized frame are errors")
    func malformed() throws {
        var decoder = AMQPFrameDecoder()
        var other = ByteBuffer(bytes: Array("AMQP".utf8) + [0, 0, 9, 0])
        #expect(throws: AMQPError.self) { try decoder.decode(buffer: &other) }

        var badEnd = ByteBuffer()
        try AMQPFrameEncoder.encode(AMQPFrame(channel: 0, payload: .heartbeat), into: &badEnd)
        badEnd.setInteger(UInt8(0xCD), at: badEnd.writerIndex - 1)
        decoder = AMQPFrameDecoder()
        #expect(throws: AMQPError.self) { try decoder.decode(buffer: &badEnd) }

        var huge = ByteBuffer(bytes: [3, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0])
        decoder = AMQPFrameDecoder()
        #expect(throws: AMQPError.self) { try decoder.decode(buffer: &huge) }
    }

    @Test("amqp:// URLs")
    func urls() throws {
        let url = try AMQPURL("amqp://user:p%40ss@broker.example:5673/%2Fjobs")
        #expect(url.host == "broker.example")
        #expect(url.port == 5673)
        #expect(url.user == "user")
        #expect(url.password == "p@ss")
        #expect(url.vhost == "/jobs")
        let defaults = try AMQPURL("amqp://127.0.0.1:1234/")
        #expect(defaults.vhost == "/")
        #expect(defaults.user == "guest")
        #expect(throws: AMQPError.self) { try AMQPURL("http://127.0.0.1/") }
    }
}
