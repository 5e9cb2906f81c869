import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// What a foreign-language plugin declares about itself: the JSON its exported function
/// `const char *easyjobs_ffi_manifest_v1(void)` returns.
///
/// ```json
/// {"abi": "1.0", "name": "cmath", "version": "1.0.0",
///  "tasks": [{"name": "add", "symbol": "add", "returns": "int64",
///             "parameters": [{"name": "a", "type": "int64"}, {"name": "b", "type": "int64"}]},
///            {"name": "scale", "symbol": "scale", "returns": "void", "result": "values",
///             "parameters": [{"name": "values", "type": "double[]"}, {"name": "factor", "type": "double"}]}]}
/// ```
///
/// Parameter types: `int8`…`int64`, `uint8`…`uint64`, `float`, `double`, `bool`, `string`
/// (`const char*`), and buffers `T[]` (a `T*` and a `size_t` count, two C arguments). Returns:
/// `void`, a scalar, `string` or `json` (a `char*` the host frees with the task's `free`
/// function, if it names one). A `void` function may name a buffer parameter as its `result`:
/// the buffer's content after the call. `options` are the task options of Swift plugins; runs
/// go to a subprocess child unless `"subprocess": false`.
struct FFIManifest: Decodable {
    var abi: String
    var name: String
    var version: String
    /// In a manifest file only: the library to open (a name on the system's library path, or an absolute path).
    var library: String?
    var tasks: [Task]

    struct Task: Decodable {
        var name: String
        /// The C function; the task's name when absent.
        var symbol: String?
        var description: String?
        var parameters: [Parameter]?
        var returns: String
        var free: String?
        var result: String?
        var options: JSONValue?
    }

    struct Parameter: Decodable {
        var name: String
        var type: String
        var `default`: JSONValue?
    }

    /// The exported function that returns the manifest.
    static let symbol = "easyjobs_ffi_manifest_v1"
    /// A manifest file in a plugin directory, for a library that exports no manifest of its own.
    static let fileExtension = ".easyjobs.json"

    static func parse(_ text: String, check: DescriptorCheck) throws(EasyJobsError) -> FFIManifest {
        do {
            _ = try JSONValue.parse(text)
            return try JSONDecoder().decode(FFIManifest.self, from: Data(text.utf8))
        } catch let error as DecodingError {
            throw check.refusal("its FFI manifest does not have the expected shape: \(Self.describe(error))", ["field": "manifest"])
        } catch {
            throw check.refusal("its FFI manifest is not valid JSON: \((error as? EasyJobsError)?.message ?? "\(error)")", ["field": "manifest"])
        }
    }

    /// The task descriptions the manager gets, checked as a Swift plugin's are (names, schedules,
    /// defaults, cycles), with each C parameter's range.
    func taskSpecs(check: DescriptorCheck) throws(EasyJobsError) -> [TaskSpec] {
        var described: [JSONValue] = []
        for task in tasks {
            var parameters: [JSONValue] = []
            for parameter in task.parameters ?? [] {
                guard let type = FFIParameterType(declared: parameter.type) else {
                    throw check.refusal(
                        "task '\(task.name)': parameter '\(parameter.name)' has unknown C type '\(parameter.type)' (expected int8…int64, uint8…uint64, float, double, bool, string or a buffer such as double[])",
                        ["field": "parameters", "task": task.name])
                }
                var spec = TaskParameter(
                    name: parameter.name, type: .any, required: parameter.default == nil, default: parameter.default, cType: type.cDescription)
                switch type {
                case .scalar(let scalar):
                    spec.type = scalar.parameterType
                    spec.minimum = scalar.range?.minimum
                    spec.maximum = scalar.range?.maximum
                case .string: spec.type = .string
                case .buffer: spec.type = .array
                }
                parameters.append(try Self.json(spec))
            }
            guard FFIReturnType(declared: task.returns) != nil else {
                throw check.refusal(
                    "task '\(task.name)': unknown return type '\(task.returns)' (expected void, a scalar type, string or json)",
                    ["field": "returns", "task": task.name])
            }
            // Foreign code runs in a child unless the manifest says otherwise: a crash there
            // cannot take the host down.
            var options = task.options?.objectValue ?? [:]
            if options["subprocess"] == nil { options["subprocess"] = .bool(true) }
            var entry: [String: JSONValue] = ["name": .string(task.name), "parameters": .array(parameters), "options": .object(options)]
            if let description = task.description { entry["description"] = .string(description) }
            described.append(.object(entry))
        }
        return try check.tasks(fromJSON: JSONValue.array(described).encoded())
    }

    private static func json(_ parameter: TaskParameter) throws(EasyJobsError) -> JSONValue {
        do {
            return try JSONValue.decode(try JSONEncoder().encode(parameter))
        } catch {
            throw EasyJobsError(.internalError, "could not describe parameter '\(parameter.name)': \(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            "missing '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            "'\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        @unknown default:
            "\(error)"
        }
    }
}
