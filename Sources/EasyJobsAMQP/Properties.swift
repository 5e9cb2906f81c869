import NIOCore

/// The basic properties of a message (its content header), all optional.
///
/// ```swift
/// var properties = AMQPProperties()
/// properties.contentType = "application/json"
/// properties.deliveryMode = 2  // persistent
/// ```
public struct AMQPProperties: Sendable, Hashable {
    /// E.g. "application/json".
    public var contentType: String?
    public var contentEncoding: String?
    public var headers: AMQPFieldTable?
    /// 1 transient, 2 persistent (written to disk by the broker on a durable queue).
    public var deliveryMode: UInt8?
    public var priority: UInt8?
    public var correlationID: String?
    public var replyTo: String?
    public var expiration: String?
    public var messageID: String?
    public var timestamp: UInt64?
    public var type: String?
    public var userID: String?
    public var appID: String?

    /// No properties set.
    public init() {}
}

/// A content header frame's payload: the class, the body's size and the properties.
struct AMQPContentHeader: Sendable, Equatable {
    var classID: UInt16 = 60
    var bodySize: UInt64
    var properties: AMQPProperties
}

extension ByteBuffer {
    mutating func writeContentHeader(_ header: AMQPContentHeader) throws {
        let p = header.properties
        writeInteger(header.classID)
        writeInteger(UInt16(0))  // weight, unused
        writeInteger(header.bodySize)
        // The flags say which properties are present, highest bit first in the spec's order;
        // the last bit would announce a further flags word, which 14 properties never need.
        var flags: UInt16 = 0
        let present: [Bool] = [
            p.contentType != nil, p.contentEncoding != nil, p.headers != nil, p.deliveryMode != nil,
            p.priority != nil, p.correlationID != nil, p.replyTo != nil, p.expiration != nil,
            p.messageID != nil, p.timestamp != nil, p.type != nil, p.userID != nil, p.appID != nil,
        ]
        for (i, isPresent) in present.enumerated() where isPresent { flags |= 1 << UInt16(15 - i) }
        writeInteger(flags)
        if let v = p.contentType { try writeShortString(v) }
        if let v = p.contentEncoding { try writeShortString(v) }
        if let v = p.headers { try writeFieldTable(v) }
        if let v = p.deliveryMode { writeInteger(v) }
        if let v = p.priority { writeInteger(v) }
        if let v = p.correlationID { try writeShortString(v) }
        if let v = p.replyTo { try writeShortString(v) }
        if let v = p.expiration { try writeShortString(v) }
        if let v = p.messageID { try writeShortString(v) }
        if let v = p.timestamp { writeInteger(v) }
        if let v = p.type { try writeShortString(v) }
        if let v = p.userID { try writeShortString(v) }
        if let v = p.appID { try writeShortString(v) }
    }

    mutating func readContentHeader() throws -> AMQPContentHeader {
        let classID: UInt16 = try readOrThrow()
        let _: UInt16 = try readOrThrow()
        let bodySize: UInt64 = try readOrThrow()
        let flags: UInt16 = try readOrThrow()
        func has(_ i: Int) -> Bool { flags & (1 << UInt16(15 - i)) != 0 }
        var p = AMQPProperties()
        if has(0) { p.contentType = try readShortString() }
        if has(1) { p.contentEncoding = try readShortString() }
        if has(2) { p.headers = try readFieldTable() }
        if has(3) { p.deliveryMode = try readOrThrow() }
        if has(4) { p.priority = try readOrThrow() }
        if has(5) { p.correlationID = try readShortString() }
        if has(6) { p.replyTo = try readShortString() }
        if has(7) { p.expiration = try readShortString() }
        if has(8) { p.messageID = try readShortString() }
        if has(9) { p.timestamp = try readOrThrow() }
        if has(10) { p.type = try readShortString() }
        if has(11) { p.userID = try readShortString() }
        if has(12) { p.appID = try readShortString() }
        if has(13) { _ = try readShortString() }  // cluster-id, deprecated
        return AMQPContentHeader(classID: classID, bodySize: bodySize, properties: p)
    }
}
