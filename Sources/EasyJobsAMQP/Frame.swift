import NIOCore

/// What a client sends first: "AMQP", 0, then protocol version 0-9-1.
let amqpProtocolHeader: [UInt8] = Array("AMQP".utf8) + [0, 0, 9, 1]

/// One AMQP frame: a channel (0 for the connection itself) and a payload.
struct AMQPFrame: Sendable, Equatable {
    enum Payload: Sendable, Equatable {
        case method(AMQPMethod)
        case header(AMQPContentHeader)
        case body(ByteBuffer)
        case heartbeat
    }

    var channel: UInt16
    var payload: Payload

    static let frameEnd: UInt8 = 0xCE
    /// Type, channel and size before the payload, the end octet after it.
    static let overhead = 8
}

/// What the client writes: the protocol header once, then frames; several frames at once
/// when they must stay together (a publish's method, header and body frames).
enum AMQPOutbound: Sendable {
    case protocolHeader
    case frames([AMQPFrame])
}

struct AMQPFrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = AMQPOutbound

    func encode(data: AMQPOutbound, out: inout ByteBuffer) throws {
        switch data {
        case .protocolHeader:
            out.writeBytes(amqpProtocolHeader)
        case .frames(let frames):
            for frame in frames { try Self.encode(frame, into: &out) }
        }
    }

    static func encode(_ frame: AMQPFrame, into out: inout ByteBuffer) throws {
        let type: UInt8
        switch frame.payload {
        case .method: type = 1
        case .header: type = 2
        case .body: type = 3
        case .heartbeat: type = 8
        }
        out.writeInteger(type)
        out.writeInteger(frame.channel)
        let sizeIndex = out.writerIndex
        out.writeInteger(UInt32(0))
        let start = out.writerIndex
        switch frame.payload {
        case .method(let method): try out.writeMethod(method)
        case .header(let header): try out.writeContentHeader(header)
        case .body(var body): out.writeBuffer(&body)
        case .heartbeat: break
        }
        out.setInteger(UInt32(out.writerIndex - start), at: sizeIndex)
        out.writeInteger(AMQPFrame.frameEnd)
    }
}

struct AMQPFrameDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = AMQPFrame

    /// Frames larger than this are refused rather than buffered: a broken or hostile peer must
    /// not make the client allocate without bound. Above any frame-max the client negotiates.
    var maxFrameSize: Int = 1 << 20
    private var sawFirstBytes = false

    mutating func decode(buffer: inout ByteBuffer) throws -> AMQPFrame? {
        if !sawFirstBytes {
            guard buffer.readableBytes >= 8 else { return nil }
            // A broker that does not speak 0-9-1 answers with the header of the version it does.
            if buffer.getBytes(at: buffer.readerIndex, length: 4) == Array("AMQP".utf8) {
                let version = buffer.getBytes(at: buffer.readerIndex + 4, length: 4) ?? []
                throw AMQPError(.protocolError, "the server does not speak AMQP 0-9-1; it offers protocol \(version)")
            }
            sawFirstBytes = true
        }
        guard buffer.readableBytes >= 7,
            let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let channel = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt16.self),
            let size = buffer.getInteger(at: buffer.readerIndex + 3, as: UInt32.self)
        else { return nil }
        guard Int(size) <= maxFrameSize else {
            throw AMQPError(.protocolError, "a frame of \(size) bytes exceeds the frame limit of \(maxFrameSize)")
        }
        guard buffer.readableBytes >= 7 + Int(size) + 1 else { return nil }
        buffer.moveReaderIndex(forwardBy: 7)
        var payload = buffer.readSlice(length: Int(size))!
        guard buffer.readInteger(as: UInt8.self) == AMQPFrame.frameEnd else {
            throw AMQPError(.protocolError, "a frame does not end with 0xCE (frame type \(type), channel \(channel))")
        }
        switch type {
        case 1: return AMQPFrame(channel: channel, payload: .method(try payload.readMethod()))
        case 2: return AMQPFrame(channel: channel, payload: .header(try payload.readContentHeader()))
        case 3: return AMQPFrame(channel: channel, payload: .body(payload))
        case 8: return AMQPFrame(channel: channel, payload: .heartbeat)
        default: throw AMQPError(.protocolError, "unknown frame type \(type)")
        }
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> AMQPFrame? {
        try decode(buffer: &buffer)
    }
}
