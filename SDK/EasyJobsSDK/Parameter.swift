/// One keyword argument of a task, as published to the manager.
///
/// Usually derived from the task's `Codable` arguments type; declare parameters yourself to
/// give defaults:
///
/// ```swift
/// parameters: [.string("url", default: "http://stats")]
/// ```
public struct Parameter: Sendable, Hashable {
    /// The parameter types of the ABI.
    public enum Kind: String, Sendable, Hashable {
        case string, int, double, bool, object, array, any
    }

    public var name: String
    public var kind: Kind
    public var required: Bool
    public var defaultValue: JSONValue?

    public init(name: String, kind: Kind, required: Bool = true, default defaultValue: JSONValue? = nil) {
        self.name = name
        self.kind = kind
        self.required = required && defaultValue == nil
        self.defaultValue = defaultValue
    }

    public static func string(_ name: String, required: Bool = true, default value: String? = nil) -> Parameter {
        Parameter(name: name, kind: .string, required: required, default: value.map(JSONValue.string))
    }

    public static func int(_ name: String, required: Bool = true, default value: Int? = nil) -> Parameter {
        Parameter(name: name, kind: .int, required: required, default: value.map(JSONValue.int))
    }

    public static func double(_ name: String, required: Bool = true, default value: Double? = nil) -> Parameter {
        Parameter(name: name, kind: .double, required: required, default: value.map(JSONValue.double))
    }

    public static func bool(_ name: String, required: Bool = true, default value: Bool? = nil) -> Parameter {
        Parameter(name: name, kind: .bool, required: required, default: value.map(JSONValue.bool))
    }

    public static func object(_ name: String, required: Bool = true, default value: JSONValue? = nil) -> Parameter {
        Parameter(name: name, kind: .object, required: required, default: value)
    }

    public static func array(_ name: String, required: Bool = true, default value: JSONValue? = nil) -> Parameter {
        Parameter(name: name, kind: .array, required: required, default: value)
    }

    public static func any(_ name: String, required: Bool = true, default value: JSONValue? = nil) -> Parameter {
        Parameter(name: name, kind: .any, required: required, default: value)
    }

    var json: JSONValue {
        var object: [String: JSONValue] = ["name": .string(name), "type": .string(kind.rawValue), "required": .bool(required)]
        if let defaultValue { object["default"] = defaultValue }
        return .object(object)
    }
}
