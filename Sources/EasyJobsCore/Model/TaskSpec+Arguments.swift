#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The other ways EasyJobs clients pass arguments: query parameters, and positional `args`.
extension TaskSpec {
    /// Keyword arguments from query parameters (`?url=http://stats&n=3`), each read as its
    /// parameter's declared type: how the Python EasyJobs' FastAPI endpoints take simple
    /// arguments. A name the task does not declare stays a string (binding then names it).
    public func arguments(fromQuery items: [(name: String, value: String)]) throws(EasyJobsError) -> [String: JSONValue] {
        var arguments: [String: JSONValue] = [:]
        var problems: [String] = []
        for (name, text) in items {
            guard arguments[name] == nil else {
                problems.append("query parameter '\(name)' is given twice")
                continue
            }
            guard let parameter = parameters.first(where: { $0.name == name }) else {
                arguments[name] = .string(text)
                continue
            }
            if let value = Self.coerce(text, to: parameter.type) {
                arguments[name] = value
            } else {
                problems.append("query parameter '\(name)' must be \(parameter.cType ?? parameter.type.rawValue), got '\(text)'")
            }
        }
        guard problems.isEmpty else {
            throw EasyJobsError(
                .invalidArguments, "invalid arguments for task '\(name)': " + problems.joined(separator: "; "),
                context: ["task": name, "signature": signature])
        }
        return arguments
    }

    /// Keyword arguments from positional `args` and keyword `kwargs`, as a Python call binds
    /// them: positional arguments fill the parameters in declared order.
    public func arguments(positional: [JSONValue], keywords: [String: JSONValue]) throws(EasyJobsError) -> [String: JSONValue] {
        guard positional.count <= parameters.count else {
            throw EasyJobsError(
                .invalidArguments,
                "task '\(name)' takes \(parameters.count) positional argument\(parameters.count == 1 ? "" : "s") but \(positional.count) were given",
                context: ["task": name, "signature": signature])
        }
        var arguments = keywords
        for (parameter, value) in zip(parameters, positional) {
            guard arguments[parameter.name] == nil else {
                throw EasyJobsError(
                    .invalidArguments, "task '\(name)' got multiple values for argument '\(parameter.name)'",
                    context: ["task": name, "signature": signature])
            }
            arguments[parameter.name] = value
        }
        return arguments
    }

    /// Whether `{"args": [...], "kwargs": {...}}` is a call envelope rather than keyword
    /// arguments: only for a task that has no parameter of either name.
    public func isCallEnvelope(_ body: [String: JSONValue]) -> Bool {
        guard !body.isEmpty, Set(body.keys).isSubset(of: ["args", "kwargs"]) else { return false }
        guard !parameters.contains(where: { $0.name == "args" || $0.name == "kwargs" }) else { return false }
        if let args = body["args"], args.arrayValue == nil { return false }
        if let kwargs = body["kwargs"], kwargs.objectValue == nil { return false }
        return true
    }

    static func coerce(_ text: String, to type: ParameterType) -> JSONValue? {
        switch type {
        case .string: return .string(text)
        case .int: return Int(text).map(JSONValue.int)
        case .double:
            guard let number = Double(text), number.isFinite else { return nil }
            return Int(text).map(JSONValue.int) ?? .double(number)
        case .bool:
            switch text.lowercased() {
            case "true", "1", "yes", "on": return .bool(true)
            case "false", "0", "no", "off": return .bool(false)
            default: return nil
            }
        case .object, .array:
            guard let value = try? JSONValue.parse(text), type.accepts(value) else { return nil }
            return value
        case .any:
            return (try? JSONValue.parse(text)) ?? .string(text)
        }
    }

    /// The keyword arguments of an enqueue, however an EasyJobs client sent them: a JSON object
    /// of keyword arguments, query parameters read as their declared types (the Python
    /// EasyJobs' simple parameters), or a `{"args": [...], "kwargs": {...}}` call.
    public func keywordArguments(body: JSONValue, query: [(name: String, value: String)]) throws(EasyJobsError) -> JSONValue {
        guard case .object(var keywords) = body else { return body }
        if isCallEnvelope(keywords) {
            keywords = try arguments(positional: keywords["args"]?.arrayValue ?? [], keywords: keywords["kwargs"]?.objectValue ?? [:])
        }
        guard !query.isEmpty else { return .object(keywords) }
        for (name, value) in try arguments(fromQuery: query) {
            guard keywords[name] == nil else {
                throw EasyJobsError(.invalidArguments, "argument '\(name)' is given both in the query and in the body", context: ["task": self.name])
            }
            keywords[name] = value
        }
        return .object(keywords)
    }
}
