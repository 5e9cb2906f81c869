#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One task of a plugin: its name, signature, options and body.
///
/// Arguments and result are `Codable`; the parameters are derived from the arguments type
/// unless given.
///
/// ```swift
/// struct ExtractArguments: Codable { var url: String }
/// struct Extracted: Codable { var data: [String: Int] }
///
/// TaskDefinition("extract", options: .init(runAfter: ["transform"])) { (args: ExtractArguments, context) in
///     context.print("extract started")
///     return Extracted(data: ["a": 1])
/// }
/// ```
public struct TaskDefinition: Sendable {
    public let name: String
    public let description: String?
    public let options: TaskOptions
    /// The derived or declared parameters, or why they could not be derived.
    let parameters: Result<[Parameter], ParameterSchema.DerivationError>
    let body: @Sendable (Data, TaskContext) async throws -> Data

    public init<Arguments: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String,
        description: String? = nil,
        parameters: [Parameter]? = nil,
        options: TaskOptions = TaskOptions(),
        _ body: @escaping @Sendable (Arguments, TaskContext) async throws -> Output
    ) {
        self.name = name
        self.description = description
        self.options = options
        if let parameters {
            self.parameters = .success(parameters)
        } else {
            self.parameters = Result { () throws(ParameterSchema.DerivationError) in
                do { return try ParameterSchema.parameters(of: Arguments.self) } catch let error as ParameterSchema.DerivationError {
                    throw error
                } catch {
                    throw ParameterSchema.DerivationError(description: "\(error)")
                }
            }
        }
        // A task without arguments has nothing to decode, and a JSON value (the `null` of a task
        // that returns nothing) is written by the SDK's own writer: a `JSONDecoder` and a
        // `JSONEncoder` made and run for every job were most of a no-op run's cost in the plugin.
        let noArguments = NoArguments() as? Arguments
        self.body = { input, context in
            let arguments: Arguments
            if let noArguments {
                arguments = noArguments
            } else {
                do {
                    arguments = try JSONDecoder().decode(Arguments.self, from: input)
                } catch let error as DecodingError {
                    throw TaskFailure("invalid arguments for task '\(name)': \(error.readable)", type: "InvalidArguments")
                }
            }
            let output = try await body(arguments, context)
            if let value = output as? JSONValue { return value.encoded() }
            return try JSONEncoder().encode(output)
        }
    }

    /// A task that returns nothing: its result is `null`.
    public init<Arguments: Decodable & Sendable>(
        _ name: String,
        description: String? = nil,
        parameters: [Parameter]? = nil,
        options: TaskOptions = TaskOptions(),
        _ body: @escaping @Sendable (Arguments, TaskContext) async throws -> Void
    ) {
        self.init(name, description: description, parameters: parameters, options: options) { (arguments: Arguments, context) -> JSONValue in
            try await body(arguments, context)
            return .null
        }
    }

    func json() throws(ParameterSchema.DerivationError) -> JSONValue {
        var object: [String: JSONValue] = [
            "name": .string(name),
            "parameters": .array(try parameters.get().map(\.json)),
            "options": options.json,
        ]
        if let description { object["description"] = .string(description) }
        return .object(object)
    }
}

/// An error a task throws to fail with a message of its choosing.
public struct TaskFailure: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var type: String

    public init(_ message: String, type: String = "TaskFailure") {
        self.message = message
        self.type = type
    }

    public var description: String { message }
}

extension DecodingError {
    /// "argument 'url': expected String, found a number" rather than the debug dump.
    var readable: String {
        func path(_ context: Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch self {
        case .typeMismatch(let type, let context):
            return "argument '\(path(context))': expected \(type): \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "argument '\(path(context))': expected \(type), found null"
        case .keyNotFound(let key, _):
            return "missing required argument '\(key.stringValue)'"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? context.debugDescription : "argument '\(path(context))': \(context.debugDescription)"
        @unknown default:
            return "\(self)"
        }
    }
}
