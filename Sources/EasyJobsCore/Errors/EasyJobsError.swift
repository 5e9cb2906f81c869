/// An error with a stable code, a message for people and context for programs.
///
/// The HTTP API renders every error in one shape:
///
/// ```json
/// {"error": {"code": "invalid_arguments", "message": "…", "context": {"task": "extract"}}}
/// ```
public struct EasyJobsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable error code. New codes can be added without breaking clients.
    public struct Code: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The request body is not valid JSON or not of the expected shape.
        public static let malformedRequest = Code(rawValue: "malformed_request")
        /// Arguments do not fit the task's signature.
        public static let invalidArguments = Code(rawValue: "invalid_arguments")
        public static let unknownQueue = Code(rawValue: "unknown_queue")
        public static let unknownTask = Code(rawValue: "unknown_task")
        /// The task is known but no host serves it now.
        public static let taskUnavailable = Code(rawValue: "task_unavailable")
        public static let jobNotFound = Code(rawValue: "job_not_found")
        public static let hostNotFound = Code(rawValue: "host_not_found")
        /// The result was already pulled and is no longer served.
        public static let resultConsumed = Code(rawValue: "result_consumed")
        /// The job ended in failure (answer of a pull).
        public static let jobFailed = Code(rawValue: "job_failed")
        /// A report for a job the host no longer holds (its lease ran out).
        public static let leaseLost = Code(rawValue: "lease_lost")
        /// The job was cancelled (answer of a pull).
        public static let jobCancelled = Code(rawValue: "job_cancelled")
        /// The job was not started by its deadline (answer of a pull).
        public static let jobExpired = Code(rawValue: "job_expired")
        /// What was asked does not fit the job's status now (retrying a job that runs,
        /// discarding one that has not ended): the request may succeed later, unchanged.
        public static let jobStateConflict = Code(rawValue: "job_state_conflict")
        /// An `Idempotency-Key` the queue has seen came with another task or other arguments.
        public static let idempotencyConflict = Code(rawValue: "idempotency_conflict")
        /// A job asked for a webhook of a manager that has no key to sign it with.
        public static let webhooksUnavailable = Code(rawValue: "webhooks_unavailable")
        /// A wait that the caller bounded ran out (the job exists, it has not finished).
        public static let timedOut = Code(rawValue: "timed_out")
        /// A host registered with the id of another host that is online.
        public static let hostIDInUse = Code(rawValue: "host_id_in_use")
        /// A host's session token is unknown or was replaced: the host must register again.
        public static let sessionInvalid = Code(rawValue: "session_invalid")
        public static let unauthorized = Code(rawValue: "unauthorized")
        public static let forbidden = Code(rawValue: "forbidden")
        public static let payloadTooLarge = Code(rawValue: "payload_too_large")
        public static let notFound = Code(rawValue: "not_found")
        /// A plugin that the host refuses to load.
        public static let pluginRefused = Code(rawValue: "plugin_refused")
        public static let invalidConfiguration = Code(rawValue: "invalid_configuration")
        public static let storeFailure = Code(rawValue: "store_failure")
        public static let managerUnavailable = Code(rawValue: "manager_unavailable")
        public static let internalError = Code(rawValue: "internal_error")
    }

    public var code: Code
    public var message: String
    public var context: [String: String]

    public init(_ code: Code, _ message: String, context: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.context = context
    }

    public var description: String { message }
}

extension EasyJobsError: Codable {}

/// The body of every error response of the HTTP API.
public struct ErrorResponse: Codable, Sendable {
    public var error: EasyJobsError
    public init(error: EasyJobsError) { self.error = error }
}
