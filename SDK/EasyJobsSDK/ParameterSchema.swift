/// Derives a task's parameters from its `Codable` arguments type.
///
/// It runs the type's `init(from:)` against a decoder that answers every request with a
/// placeholder and records the keys asked for: `decode` means required, `decodeIfPresent`
/// optional, and the requested type gives the parameter's kind.
enum ParameterSchema {
    struct DerivationError: Error, CustomStringConvertible {
        var description: String
    }

    static func parameters<Arguments: Decodable>(of type: Arguments.Type) throws -> [Parameter] {
        let recorder = Recorder()
        do {
            _ = try Arguments(from: PlaceholderDecoder(recorder: recorder, depth: 0))
        } catch {
            throw DerivationError(
                description: "cannot derive the parameters of \(Arguments.self) (\(error)); declare them with `parameters:`")
        }
        return recorder.parameters
    }

    final class Recorder {
        var parameters: [Parameter] = []
        func record(_ key: any CodingKey, _ kind: Parameter.Kind, required: Bool) {
            guard !parameters.contains(where: { $0.name == key.stringValue }) else { return }
            parameters.append(Parameter(name: key.stringValue, kind: kind, required: required))
        }
    }

    /// The kind a nested `Decodable` type takes, found by which container its `init(from:)` asks for.
    static func kind(of type: any Decodable.Type) -> Parameter.Kind {
        switch type {
        case is String.Type: return .string
        case is Bool.Type: return .bool
        case is Int.Type, is Int8.Type, is Int16.Type, is Int32.Type, is Int64.Type,
            is UInt.Type, is UInt8.Type, is UInt16.Type, is UInt32.Type, is UInt64.Type:
            return .int
        case is Double.Type, is Float.Type: return .double
        case is JSONValue.Type: return .any
        default:
            let probe = KindProbe()
            _ = try? type.init(from: probe)
            return probe.kind ?? .any
        }
    }
}

private struct StopProbing: Error {}

/// Answers the first container request and stops.
private final class KindProbe: Decoder, SingleValueDecodingContainer {
    var kind: Parameter.Kind?
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        kind = .object
        throw StopProbing()
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        kind = .array
        throw StopProbing()
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        kind = ParameterSchema.kind(of: type)
        throw StopProbing()
    }
}

/// Decodes any type with placeholder values, recording the top-level keys.
private struct PlaceholderDecoder: Decoder {
    let recorder: ParameterSchema.Recorder
    let depth: Int
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedPlaceholder<Key>(recorder: recorder, depth: depth))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { EmptyUnkeyed() }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { SinglePlaceholder(depth: depth) }
}

private func placeholder<T: Decodable>(_ type: T.Type, depth: Int) throws -> T {
    switch type {
    case is String.Type: return "" as! T
    case is Bool.Type: return false as! T
    case is Int.Type: return 0 as! T
    case is Double.Type: return 0.0 as! T
    case is Float.Type: return Float(0) as! T
    case is JSONValue.Type: return JSONValue.null as! T
    default:
        guard depth < 8 else { throw ParameterSchema.DerivationError(description: "nesting too deep") }
        return try T(from: PlaceholderDecoder(recorder: ParameterSchema.Recorder(), depth: depth + 1))
    }
}

private struct KeyedPlaceholder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let recorder: ParameterSchema.Recorder
    let depth: Int
    var codingPath: [any CodingKey] = []
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        if depth == 0 { recorder.record(key, ParameterSchema.kind(of: type), required: true) }
        return try placeholder(type, depth: depth)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        optional(type, key)
    }

    // The standard library's defaults for these call `decode`, which would mark them required.
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { optional(type, key) }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { optional(type, key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { optional(type, key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { optional(type, key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { optional(type, key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { optional(type, key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { optional(type, key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { optional(type, key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { optional(type, key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { optional(type, key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { optional(type, key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { optional(type, key) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { optional(type, key) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { optional(type, key) }

    private func optional<T: Decodable>(_ type: T.Type, _ key: Key) -> T? {
        if depth == 0 { recorder.record(key, ParameterSchema.kind(of: type), required: false) }
        return nil
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        if depth == 0 { recorder.record(key, .object, required: true) }
        return KeyedDecodingContainer(KeyedPlaceholder<NestedKey>(recorder: recorder, depth: depth + 1))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        if depth == 0 { recorder.record(key, .array, required: true) }
        return EmptyUnkeyed()
    }

    func superDecoder() throws -> any Decoder { PlaceholderDecoder(recorder: recorder, depth: depth + 1) }
    func superDecoder(forKey key: Key) throws -> any Decoder { PlaceholderDecoder(recorder: recorder, depth: depth + 1) }
}

private struct EmptyUnkeyed: UnkeyedDecodingContainer {
    var codingPath: [any CodingKey] = []
    var count: Int? { 0 }
    var isAtEnd: Bool { true }
    var currentIndex: Int { 0 }

    private func end() -> DecodingError {
        DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "placeholder array is empty"))
    }
    mutating func decodeNil() throws -> Bool { throw end() }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { throw end() }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> { throw end() }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { throw end() }
    mutating func superDecoder() throws -> any Decoder { throw end() }
}

private struct SinglePlaceholder: SingleValueDecodingContainer {
    let depth: Int
    var codingPath: [any CodingKey] = []
    func decodeNil() -> Bool { true }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try placeholder(type, depth: depth) }
}
