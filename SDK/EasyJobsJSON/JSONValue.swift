#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON value: what crosses the plugin boundary and the HTTP API as arguments and results.
///
/// One type for plugins (through the SDK) and for the host and manager (through the core), so
/// a value means the same on both sides. Integers and floating-point numbers stay distinct so
/// that a parameter typed `int` can refuse `1.5` while one typed `double` accepts `1`.
///
/// ```swift
/// let args: JSONValue = ["url": "http://stats", "retries": 3]
/// let bytes = args.encoded()
/// let back = try JSONValue.read(text: #"{"retries":3,"url":"http://stats"}"#)
/// ```
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// How deeply objects and arrays may nest in one value, counting the outermost as 1.
    ///
    /// Recursive readers and writers (this one, Foundation's coders) recurse once per level;
    /// 64 is deeper than any real argument and far from the stack.
    public static let maximumDepth = 64

    /// The JSON type name, as used in error messages ("expected int, got string").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .int: "int"
        case .double: "double"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let object) = self { return object }
        return nil
    }

    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    public subscript(index: Int) -> JSONValue? {
        guard case .array(let values) = self, values.indices.contains(index) else { return nil }
        return values[index]
    }

    /// Compact JSON bytes with sorted keys, so equal values encode equally.
    public func encoded() -> Data {
        Data(JSONWriter.write(self))
    }

    /// The compact JSON object of `members`, written in the order given (the caller's keys are
    /// distinct, and sorted if it needs equal objects to encode equally): an object the caller
    /// knows the shape of, written without building a dictionary first.
    public static func encodedObject(_ members: [(key: String, value: JSONValue)]) -> Data {
        Data(JSONWriter.writeObject(members))
    }

    /// The value as compact JSON text with sorted keys.
    public var jsonString: String {
        String(decoding: JSONWriter.write(self), as: UTF8.self)
    }

    /// Reads JSON bytes strictly (RFC 8259); fragments such as `3` or `"x"` are values too.
    public static func read(_ data: some DataProtocol, maxDepth: Int = maximumDepth) throws(JSONSyntaxError) -> JSONValue {
        let parsed: Result<JSONValue, JSONSyntaxError>? = data.withContiguousStorageIfAvailable { bytes in
            Result { () throws(JSONSyntaxError) in try JSONParser.parse(bytes, maxDepth: maxDepth) }
        }
        if let parsed { return try parsed.get() }
        return try Array(data).withUnsafeBufferPointer { bytes in
            Result { () throws(JSONSyntaxError) in try JSONParser.parse(bytes, maxDepth: maxDepth) }
        }.get()
    }

    /// Reads JSON text strictly (RFC 8259).
    public static func read(text: String) throws(JSONSyntaxError) -> JSONValue {
        var text = text
        return try text.withUTF8 { bytes in
            Result { () throws(JSONSyntaxError) in try JSONParser.parse(bytes) }
        }.get()
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let int = try? container.decode(Int.self) {
            self = .int(int)
        } else if let double = try? container.decode(Double.self) {
            self = .double(double)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else if let object = try? container.decode([String: JSONValue].self) {
            self = .object(object)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue: CustomStringConvertible {
    /// Python-like rendering, as the seed's workers print dictionaries: `{'a': 3, 'b': 4}`.
    ///
    /// For a task's printed lines and messages; ``jsonString`` is the value as JSON.
    public var description: String {
        switch self {
        case .null: "None"
        case .bool(let value): value ? "True" : "False"
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .string(let value): "'\(value)'"
        case .array(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .object(let object):
            "{" + object.keys.sorted().map { "'\($0)': \(object[$0]!.description)" }.joined(separator: ", ") + "}"
        }
    }
}
