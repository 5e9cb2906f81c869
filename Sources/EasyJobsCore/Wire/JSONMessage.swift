#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A message of the host protocol's hot paths (claim answers, reports), written and read through
/// ``JSONValue`` with the project's own parser and writer.
///
/// These carry up to hundreds of jobs per request, each with arbitrary JSON arguments or
/// results. Through `Codable` and Foundation's coders every `JSONValue` inside is decoded by
/// trial (one thrown error per miss), which made JSON the largest cost of a no-op job on both
/// the manager and the host. The wire shape is the same as the `Codable` one, with one
/// difference in kind: a whole double keeps its fraction (`5.0`), as the store keeps it, where
/// Foundation's encoder wrote `5` and the manager read an integer.
public protocol JSONMessage: Sendable {
    init(json: JSONValue) throws(EasyJobsError)
    var json: JSONValue { get }
}

extension JSONMessage {
    /// Reads a message from JSON bytes; a body that is not one names what was wrong.
    public static func decode(_ bytes: some DataProtocol) throws(EasyJobsError) -> Self {
        try Self(json: JSONValue.decode(bytes, maxDepth: JSONNesting.maximumDepth + JSONNesting.envelopeDepth))
    }

    public func encoded() -> Data { json.encoded() }
}

/// The fields of a JSON object, read with errors that name the message and the field.
struct JSONFields {
    let fields: [String: JSONValue]
    let what: String

    init(_ value: JSONValue, what: String) throws(EasyJobsError) {
        guard case .object(let fields) = value else {
            throw EasyJobsError(.malformedRequest, "\(what) must be a JSON object, got \(value.typeName)")
        }
        self.fields = fields
        self.what = what
    }

    func string(_ key: String) throws(EasyJobsError) -> String {
        guard case .string(let value)? = fields[key] else { throw wrong(key, "a string") }
        return value
    }

    func optionalString(_ key: String) throws(EasyJobsError) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw wrong(key, "a string")
        }
    }

    func int(_ key: String) throws(EasyJobsError) -> Int {
        switch fields[key] {
        case .int(let value)?: return value
        case .double(let value)? where value.rounded() == value && abs(value) < 9e15: return Int(value)
        default: throw wrong(key, "an integer")
        }
    }

    func object(_ key: String) throws(EasyJobsError) -> [String: JSONValue] {
        switch fields[key] {
        case .object(let value)?: return value
        default: throw wrong(key, "an object")
        }
    }

    func array(_ key: String) throws(EasyJobsError) -> [JSONValue] {
        guard case .array(let value)? = fields[key] else { throw wrong(key, "an array") }
        return value
    }

    /// The plugin build a report names, if any.
    func plugin() throws(EasyJobsError) -> PluginRef? {
        switch fields["plugin"] {
        case nil, .null?: nil
        case let value?: try PluginRef(json: value)
        }
    }

    /// How the run a report names ended.
    func outcome() throws(EasyJobsError) -> JobOutcome {
        guard let outcome = fields["outcome"] else { throw wrong("outcome", "an object") }
        return try JobOutcome(json: outcome)
    }

    /// A list of messages, each read with its own errors.
    func messages<Message: JSONMessage>(_ key: String, as type: Message.Type) throws(EasyJobsError) -> [Message] {
        var messages: [Message] = []
        for value in try array(key) { messages.append(try Message(json: value)) }
        return messages
    }

    func date(_ key: String) throws(EasyJobsError) -> Date {
        guard case .string(let text)? = fields[key], let date = WireCoding.parse(text) else { throw wrong(key, "an ISO 8601 date") }
        return date
    }

    private func wrong(_ key: String, _ expected: String) -> EasyJobsError {
        let got = fields[key].map { "got \($0.typeName)" } ?? "it is missing"
        return EasyJobsError(.malformedRequest, "\(what): '\(key)' must be \(expected), \(got)", context: ["field": key])
    }
}

extension ClaimedJob: JSONMessage {
    public init(json: JSONValue) throws(EasyJobsError) {
        let fields = try JSONFields(json, what: "a claimed job")
        self.init(
            jobID: try fields.string("job_id"), queue: try fields.optionalString("queue"), task: try fields.string("task"),
            args: try fields.object("args"), attempt: try fields.int("attempt"),
            lease: try fields.int("lease"), leaseExpiresAt: try fields.date("lease_expires_at"),
            dependencies: fields.fields["dependencies"] == nil ? [:] : try fields.object("dependencies"), token: try fields.optionalString("token"))
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "job_id": .string(jobID), "task": .string(task), "args": .object(args), "attempt": .int(attempt), "lease": .int(lease),
            "lease_expires_at": .string(WireCoding.format(leaseExpiresAt)), "dependencies": .object(dependencies),
        ]
        if let queue { object["queue"] = .string(queue) }
        if let token { object["token"] = .string(token) }
        return .object(object)
    }
}

extension ClaimResponse: JSONMessage {
    public init(json: JSONValue) throws(EasyJobsError) {
        self.init(jobs: try JSONFields(json, what: "a claim answer").messages("jobs", as: ClaimedJob.self))
    }

    public var json: JSONValue { ["jobs": .array(jobs.map(\.json))] }
}

extension PluginRef: JSONMessage {
    public init(json: JSONValue) throws(EasyJobsError) {
        let fields = try JSONFields(json, what: "a plugin reference")
        self.init(name: try fields.string("name"), version: try fields.string("version"), sha256: try fields.string("sha256"))
    }

    public var json: JSONValue { ["name": .string(name), "version": .string(version), "sha256": .string(sha256)] }
}

extension JobOutcome: JSONMessage {
    public init(json: JSONValue) throws(EasyJobsError) {
        let fields = try JSONFields(json, what: "an outcome")
        switch try fields.string("status") {
        case "completed": self = .completed(fields.fields["result"] ?? .null)
        case "failed": self = .failed(try fields.string("error"))
        case "cancelled": self = .cancelled(try fields.optionalString("error") ?? "cancelled")
        case let other:
            throw EasyJobsError(
                .malformedRequest, "an outcome: 'status' must be 'completed', 'failed' or 'cancelled', got '\(other)'", context: ["field": "status"])
        }
    }

    public var json: JSONValue {
        switch self {
        case .completed(let result): ["status": "completed", "result": result]
        case .failed(let error): ["status": "failed", "error": .string(error)]
        case .cancelled(let reason): ["status": "cancelled", "error": .string(reason)]
        }
    }
}

extension JobReport: JSONMessage {
    public init(json: JSONValue) throws(EasyJobsError) {
        let fields = try JSONFields(json, what: "a job report")
        self.init(jobID: try fields.string("job_id"), lease: try fields.int("lease"), outcome: try fields.outcome(), plugin: try fields.plugin())
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["job_id": .string(jobID), "lease": .int(lease), "outcome": outcome.json]
        if let plugin { object["plugin"] = plugin.json }
        return .object(object)
    }
}

extension ReportRequest: JSONMessage {
    public init(json: JSONValue) throws(EasyJobsError) {
        let fields = try JSONFields(json, what: "a report")
        let claim = fields.fields["claim"] == nil ? 0 : try fields.int("claim")
        guard claim >= 0 else {
            throw EasyJobsError(.malformedRequest, "a report: 'claim' must be 0 or more, got \(claim)", context: ["field": "claim"])
        }
        self.init(hostID: try fields.string("host_id"), reports: try fields.messages("reports", as: JobReport.self), claim: claim)
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["host_id": .string(hostID), "reports": .array(reports.map(\.json))]
        if claim > 0 { object["claim"] = .int(claim) }
        return .object(object)
    }
}

extension ReportResponse: JSONMessage {
    public init(json: JSONValue) throws(EasyJobsError) {
        let fields = try JSONFields(json, what: "a report answer")
        var rejected: [String] = []
        for value in try fields.array("rejected") {
            guard case .string(let id) = value else {
                throw EasyJobsError(.malformedRequest, "a report answer: 'rejected' must hold job ids, got \(value.typeName)")
            }
            rejected.append(id)
        }
        self.init(
            accepted: try fields.int("accepted"), rejected: rejected,
            jobs: fields.fields["jobs"] == nil ? [] : try fields.messages("jobs", as: ClaimedJob.self))
    }

    public var json: JSONValue {
        ["accepted": .int(accepted), "rejected": .array(rejected.map { .string($0) }), "jobs": .array(jobs.map(\.json))]
    }
}
