import NIOCore

/// A value of an AMQP field table (the `arguments` of declarations, message headers, the
/// broker's server properties). Tags follow RabbitMQ's reading of 0-9-1 (its errata), which is
/// what every broker in use speaks: `s` is a signed 16-bit integer, `l` a signed 64-bit one.
public enum AMQPFieldValue: Sendable, Hashable {
    case bool(Bool)
    case int8(Int8)
    case uint8(UInt8)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case float(Float)
    case double(Double)
    case decimal(scale: UInt8, value: UInt32)
    case string(String)
    case bytes([UInt8])
    case timestamp(UInt64)
    case table(AMQPFieldTable)
    case array([AMQPFieldValue])
    case void
}

/// A field table: names (short strings) to values.
public typealias AMQPFieldTable = [String: AMQPFieldValue]

extension ByteBuffer {
    mutating func writeShortString(_ string: String) throws {
        let count = string.utf8.count
        guard count <= 255 else {
            throw AMQPError(.invalidArgument, "a short string is at most 255 bytes, got \(count): \(string.prefix(40))…")
        }
        writeInteger(UInt8(count))
        writeString(string)
    }

    mutating func readShortString() throws -> String {
        guard let count = readInteger(as: UInt8.self), let string = readString(length: Int(count)) else {
            throw AMQPError(.protocolError, "truncated short string")
        }
        return string
    }

    mutating func writeLongString(_ string: String) {
        writeInteger(UInt32(string.utf8.count))
        writeString(string)
    }

    mutating func readLongString() throws -> String {
        guard let count = readInteger(as: UInt32.self), let string = readString(length: Int(count)) else {
            throw AMQPError(.protocolError, "truncated long string")
        }
        return string
    }

    mutating func writeFieldTable(_ table: AMQPFieldTable) throws {
        // The size precedes the entries, so it is patched in once they are written.
        let sizeIndex = writerIndex
        writeInteger(UInt32(0))
        let start = writerIndex
        // Sorted so that an encoded table is deterministic (tests compare bytes).
        for (name, value) in table.sorted(by: { $0.key < $1.key }) {
            try writeShortString(name)
            try writeFieldValue(value)
        }
        setInteger(UInt32(writerIndex - start), at: sizeIndex)
    }

    mutating func readFieldTable() throws -> AMQPFieldTable {
        guard let size = readInteger(as: UInt32.self), var slice = readSlice(length: Int(size)) else {
            throw AMQPError(.protocolError, "truncated field table")
        }
        var table: AMQPFieldTable = [:]
        while slice.readableBytes > 0 {
            let name = try slice.readShortString()
            table[name] = try slice.readFieldValue()
        }
        return table
    }

    mutating func writeFieldValue(_ value: AMQPFieldValue) throws {
        func tag(_ character: Character) { writeInteger(character.asciiValue!) }
        switch value {
        case .bool(let v): tag("t"); writeInteger(UInt8(v ? 1 : 0))
        case .int8(let v): tag("b"); writeInteger(v)
        case .uint8(let v): tag("B"); writeInteger(v)
        case .int16(let v): tag("s"); writeInteger(v)
        case .uint16(let v): tag("u"); writeInteger(v)
        case .int32(let v): tag("I"); writeInteger(v)
        case .uint32(let v): tag("i"); writeInteger(v)
        case .int64(let v): tag("l"); writeInteger(v)
        case .float(let v): tag("f"); writeInteger(v.bitPattern)
        case .double(let v): tag("d"); writeInteger(v.bitPattern)
        case .decimal(let scale, let v): tag("D"); writeInteger(scale); writeInteger(v)
        case .string(let v): tag("S"); writeLongString(v)
        case .bytes(let v): tag("x"); writeInteger(UInt32(v.count)); writeBytes(v)
        case .timestamp(let v): tag("T"); writeInteger(v)
        case .table(let v): tag("F"); try writeFieldTable(v)
        case .array(let values):
            tag("A")
            let sizeIndex = writerIndex
            writeInteger(UInt32(0))
            let start = writerIndex
            for v in values { try writeFieldValue(v) }
            setInteger(UInt32(writerIndex - start), at: sizeIndex)
        case .void: tag("V")
        }
    }

    mutating func readFieldValue() throws -> AMQPFieldValue {
        guard let tag = readInteger(as: UInt8.self) else { throw AMQPError(.protocolError, "truncated field value") }
        func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard let v = readInteger(as: T.self) else { throw AMQPError(.protocolError, "truncated field value") }
            return v
        }
        switch Character(Unicode.Scalar(tag)) {
        case "t": return .bool(try read(UInt8.self) != 0)
        case "b": return .int8(try read(Int8.self))
        case "B": return .uint8(try read(UInt8.self))
        case "s": return .int16(try read(Int16.self))
        case "u": return .uint16(try read(UInt16.self))
        case "I": return .int32(try read(Int32.self))
        case "i": return .uint32(try read(UInt32.self))
        case "l", "L": return .int64(try read(Int64.self))
        case "f": return .float(Float(bitPattern: try read(UInt32.self)))
        case "d": return .double(Double(bitPattern: try read(UInt64.self)))
        case "D": return .decimal(scale: try read(UInt8.self), value: try read(UInt32.self))
        case "S": return .string(try readLongString())
        case "x":
            let count = try read(UInt32.self)
            guard let bytes = readBytes(length: Int(count)) else { throw AMQPError(.protocolError, "truncated byte array") }
            return .bytes(bytes)
        case "T": return .timestamp(try read(UInt64.self))
        case "F": return .table(try readFieldTable())
        case "A":
            let size = try read(UInt32.self)
            guard var slice = readSlice(length: Int(size)) else { throw AMQPError(.protocolError, "truncated field array") }
            var values: [AMQPFieldValue] = []
            while slice.readableBytes > 0 { values.append(try slice.readFieldValue()) }
            return .array(values)
        case "V": return .void
        default:
            throw AMQPError(.protocolError, "unknown field value type \(tag)")
        }
    }
}
