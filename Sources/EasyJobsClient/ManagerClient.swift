import AsyncHTTPClient
import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOHTTP1

/// Talks to a manager over HTTP: the client API (enqueue, results) and the host protocol.
///
/// ```swift
/// let client = ManagerClient(baseURL: "http://127.0.0.1:8220", apiToken: token)
/// // Managers sharing a PostgreSQL store, tried in turn:
/// let failover = ManagerClient(baseURL: "http://10.0.0.1:8220,http://10.0.0.2:8220")
/// let id = try await client.enqueue(queue: "ETL", task: "extract", arguments: ["url": "http://stats"])
/// let result = try await client.pullResult(id: id, wait: 30)
/// ```
public struct ManagerClient: Sendable {
    /// The managers this client talks to: one, or several sharing a store, in turn when one is unreachable.
    public let endpoints: ManagerEndpoints
    /// The manager requests go to now.
    public var baseURL: String { endpoints.current }
    let secret: String?
    let apiToken: String?
    let httpClient: HTTPClient
    /// The host session this client holds once it registered (host endpoints send it).
    public let session: HostSession

    public init(
        baseURL: String, secret: String? = nil, apiToken: String? = nil, session: HostSession = HostSession(),
        httpClient: HTTPClient = ManagerClient.sharedHTTPClient
    ) {
        endpoints = ManagerEndpoints(baseURL)
        self.session = session
        self.secret = secret
        self.apiToken = apiToken
        self.httpClient = httpClient
    }

    /// The HTTP client used unless another is given: a manager that is down is reported at
    /// once rather than retried until the request's deadline, since the host and the CLI have
    /// their own retry policies.
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 16
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    // MARK: Client API

    /// Enqueues `task` with keyword `arguments`; returns the request id.
    public func enqueue(
        queue: String, task: String, arguments: JSONValue = [:], queueAnyway: Bool = false, options: EnqueueOptions = EnqueueOptions()
    ) async throws -> String {
        try await enqueueJob(queue: queue, task: task, arguments: arguments, queueAnyway: queueAnyway, options: options).requestID
    }

    /// ``enqueue(queue:task:arguments:queueAnyway:options:)``, with the whole answer: whether it
    /// repeated an earlier enqueue (``EnqueueResponse/deduplicated``).
    public func enqueueJob(
        queue: String, task: String, arguments: JSONValue = [:], queueAnyway: Bool = false, options: EnqueueOptions = EnqueueOptions()
    ) async throws -> EnqueueResponse {
        var parameters = options.fields
        if queueAnyway { parameters["queue_anyway"] = "true" }
        let query = parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.escape($0.value))" }.joined(separator: "&")
        return try await send(
            .POST, "/\(Self.escape(queue))/task/\(Self.escape(task))" + (query.isEmpty ? "" : "?" + query), body: arguments.encoded())
    }

    /// Enqueues many jobs of one queue in one request and one transaction; returns their request
    /// ids in the order given. All are stored or, when one is refused, none is.
    public func enqueueBatch(queue: String, jobs: [BatchEnqueueItem], queueAnyway: Bool = false) async throws -> [String] {
        let body = JSONValue.array(
            jobs.map { job in
                var fields: [String: JSONValue] = ["task": .string(job.task), "arguments": job.arguments]
                for (name, value) in job.options.fields { fields[name] = .string(value) }
                return .object(fields)
            })
        let response: BatchEnqueueResponse = try await send(
            .POST, "/\(Self.escape(queue))/tasks" + (queueAnyway ? "?queue_anyway=true" : ""), body: body.encoded())
        return response.requestIDs
    }

    /// The job's status and, when it finished, its result or error.
    public func viewResult(id: String) async throws -> JobView {
        try await send(.GET, "/job/view/result?request_id=\(Self.escape(id))")
    }

    /// Every job reachable from `id`: the pipeline it started.
    public func graph(id: String) async throws -> JobGraph {
        try await send(.GET, "/job/view/graph?request_id=\(Self.escape(id))")
    }

    /// What a pull returned.
    public enum PullResult: Sendable, Equatable {
        /// The job completed; its result is consumed.
        case completed(JSONValue)
        /// The job failed for good or was cancelled (`job_failed`, `job_cancelled`); the outcome is consumed.
        case failed(EasyJobsError)
        /// The job had not finished within the wait.
        case pending(JobStatus)
    }

    /// Waits up to `wait` seconds for the job to finish and consumes its result.
    public func pullResult(id: String, wait: Double = 5) async throws -> PullResult {
        let (status, body) = try await raw(
            .GET, "/job/pull/result?request_id=\(Self.escape(id))&wait=\(wait)", body: nil,
            timeout: .seconds(Int64(wait) + 30), auth: .client)
        switch status.code {
        case 200:
            return .completed(try JSONValue.decode(body))
        case 202:
            return .pending(try WireCoding.makeDecoder().decode(PendingResult.self, from: body).status)
        default:
            let error = Self.error(status: status, body: body)
            if error.code == .jobFailed || error.code == .jobCancelled || error.code == .jobExpired { return .failed(error) }
            throw error
        }
    }

    /// One of the job lists: `queued`, `running` or `results`.
    public func jobs(_ list: String, queue: String? = nil, task: String? = nil) async throws -> JobList {
        var path = "/job/view/\(list)"
        var query: [String] = []
        if let queue { query.append("namespace=\(Self.escape(queue))") }
        if let task { query.append("name=\(Self.escape(task))") }
        if !query.isEmpty { path += "?" + query.joined(separator: "&") }
        return try await send(.GET, path)
    }

    public func schedules() async throws -> [ScheduleView] {
        try await send(.GET, "/schedules")
    }

    /// Pauses or resumes a schedule, or fires it now.
    public func schedule(_ action: WireContract.ScheduleAction, queue: String, task: String) async throws -> JSONValue {
        try await send(.POST, "/schedules/\(Self.escape(queue))/\(Self.escape(task))/\(action.rawValue)")
    }

    /// Pauses or resumes a host (by name) or a queue.
    public func setPaused(_ kind: PauseKind, name: String, paused: Bool) async throws -> PausedWork {
        try await send(.POST, "/control/\(kind.pathComponent)/\(Self.escape(name))/\(WireContract.PauseAction(pausing: paused).rawValue)")
    }

    /// Jobs of any status, filtered, newest first.
    public func list(queue: String? = nil, task: String? = nil, status: String? = nil, limit: Int = 50, offset: Int = 0) async throws -> JobList {
        var query = ["limit=\(limit)", "offset=\(offset)"]
        if let queue { query.append("queue=\(Self.escape(queue))") }
        if let task { query.append("task=\(Self.escape(task))") }
        if let status { query.append("status=\(Self.escape(status))") }
        return try await send(.GET, "/jobs?" + query.joined(separator: "&"))
    }

    /// Job counts by status (`queued`, `running`, `completed`, …), of one queue or of all.
    public func stats(queue: String? = nil) async throws -> [String: Int] {
        try await send(.GET, "/stats" + (queue.map { "?queue=\(Self.escape($0))" } ?? ""))
    }

    public func tasks() async throws -> [QueueTasks] {
        try await send(.GET, "/tasks")
    }

    /// Runs a failed or cancelled job again; returns the new job's id.
    public func retry(id: String) async throws -> String {
        let response: EnqueueResponse = try await send(.POST, "/job/retry?request_id=\(Self.escape(id))")
        return response.requestID
    }

    /// Queues the dead jobs the filter takes again, in place; returns their request ids.
    public func retryDead(
        queue: String? = nil, task: String? = nil, statuses: [JobStatus] = [], before: Date? = nil, limit: Int? = nil
    ) async throws -> [String] {
        let response: BulkRetryResponse = try await send(
            .POST, "/jobs/retry" + Self.deadQuery(queue: queue, task: task, statuses: statuses, before: before, limit: limit))
        return response.requestIDs
    }

    /// Deletes the dead jobs the filter takes; returns how many.
    public func discardDead(
        queue: String? = nil, task: String? = nil, statuses: [JobStatus] = [], before: Date? = nil, limit: Int? = nil
    ) async throws -> Int {
        let response: BulkDiscardResponse = try await send(
            .POST, "/jobs/discard" + Self.deadQuery(queue: queue, task: task, statuses: statuses, before: before, limit: limit))
        return response.discarded
    }

    static func deadQuery(queue: String?, task: String?, statuses: [JobStatus], before: Date?, limit: Int?) -> String {
        var query: [String] = []
        if let queue { query.append("queue=\(escape(queue))") }
        if let task { query.append("task=\(escape(task))") }
        if !statuses.isEmpty { query.append("status=" + statuses.map(\.rawValue).joined(separator: ",")) }
        if let before { query.append("before=\(escape(WireCoding.format(before)))") }
        if let limit { query.append("limit=\(limit)") }
        return query.isEmpty ? "" : "?" + query.joined(separator: "&")
    }

    /// The registered hosts.
    public func hosts() async throws -> [HostView] {
        try await send(.GET, "/hosts")
    }

    // MARK: Host protocol

    /// Registers (again) and keeps the session the manager issues for the other host endpoints.
    public func register(_ registration: HostRegistration) async throws -> HostRegistrationResponse {
        let response: HostRegistrationResponse = try await send(
            .POST, WireContract.HostEndpoint.register.path, body: WireCoding.makeEncoder().encode(registration), auth: .host)
        session.token = response.session
        return response
    }

    public func claim(_ request: ClaimRequest) async throws -> ClaimResponse {
        try await sendMessage(
            WireContract.HostEndpoint.claim.path, body: WireCoding.makeEncoder().encode(request),
            timeout: .milliseconds(Int64(request.wait * 1000) + 10_000))
    }

    /// Delivers reports; the answer carries the jobs claimed with them when `request.claim` asked for some.
    public func report(_ request: ReportRequest) async throws -> ReportResponse {
        try await sendMessage(WireContract.HostEndpoint.report.path, body: request.encoded())
    }

    public func unregister(_ request: UnregisterRequest) async throws -> UnregisterResponse {
        try await send(.POST, WireContract.HostEndpoint.unregister.path, body: WireCoding.makeEncoder().encode(request), auth: .host)
    }

    /// A running job calls a task; returns the new job's id.
    public func call(_ request: CallRequest) async throws -> String {
        let response: EnqueueResponse = try await send(
            .POST, WireContract.HostEndpoint.call.path, body: WireCoding.makeEncoder().encode(request), auth: .host)
        return response.requestID
    }

    /// Relays a running job's progress (`context.progress`).
    public func progress(_ request: ProgressRequest) async throws {
        let _: JSONValue = try await send(.POST, WireContract.HostEndpoint.progress.path, body: WireCoding.makeEncoder().encode(request), auth: .host)
    }

    /// Waits up to `wait` seconds for a job to finish without consuming its result; `nil` if it has not.
    public func awaitJob(_ request: AwaitRequest) async throws -> JobView? {
        let (status, body) = try await raw(
            .POST, WireContract.HostEndpoint.await.path, body: WireCoding.makeEncoder().encode(request),
            timeout: .milliseconds(Int64(request.wait * 1000) + 10_000), auth: .host)
        switch status.code {
        case 200: return try WireCoding.makeDecoder().decode(JobView.self, from: body)
        case 202: return nil
        default: throw Self.error(status: status, body: body)
        }
    }

    public func appendLogs(_ request: LogsRequest) async throws {
        let _: [String: Int] = try await send(.POST, WireContract.HostEndpoint.logs.path, body: WireCoding.makeEncoder().encode(request), auth: .host)
    }

    /// Waits up to `request.wait` seconds for jobs to cancel.
    public func events(_ request: EventsRequest) async throws -> EventsResponse {
        try await send(
            .POST, WireContract.HostEndpoint.events.path, body: WireCoding.makeEncoder().encode(request), auth: .host,
            timeout: .milliseconds(Int64(request.wait * 1000) + 10_000))
    }

    /// A subprocess child reports its job with the job's token, and nothing else.
    public func childReport(_ report: JobReport, token: String) async throws {
        let _: [String: String] = try await send(.POST, "/job/report", body: report.encoded(), auth: .job(token))
    }

    /// A subprocess child's progress, with the job's token.
    public func childProgress(_ progress: ChildProgress, token: String) async throws {
        let _: [String: Bool] = try await send(.POST, "/job/progress", body: WireCoding.makeEncoder().encode(progress), auth: .job(token))
    }

    /// Whether the manager answers `/health`: also how a subprocess child opens its connection
    /// before it has a result to report.
    @discardableResult
    public func health() async throws -> Bool {
        try await raw(.GET, "/health", body: nil, timeout: .seconds(5), auth: .client).0 == .ok
    }

    /// Cancels a job; returns it as it is then.
    public func cancel(id: String) async throws -> JobView {
        try await send(.POST, "/job/cancel?request_id=\(Self.escape(id))")
    }

    /// A job's log lines.
    public func log(id: String, limit: Int = 1000) async throws -> JobLog {
        try await send(.GET, "/job/view/log?request_id=\(Self.escape(id))&limit=\(limit)")
    }

    /// Hands back claimed jobs the host will not run.
    public func release(_ request: ReleaseRequest) async throws -> UnregisterResponse {
        try await send(.POST, WireContract.HostEndpoint.release.path, body: WireCoding.makeEncoder().encode(request), auth: .host)
    }

    public func heartbeat(_ request: HeartbeatRequest) async throws -> HeartbeatResponse {
        try await send(.POST, WireContract.HostEndpoint.heartbeat.path, body: WireCoding.makeEncoder().encode(request), auth: .host)
    }

    // MARK: Transport

    /// Which credential a request carries: the API token, the shared secret, or one job's token.
    enum Auth { case client, host, job(String) }

    func send<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, body: Data? = nil, auth: Auth = .client, timeout: TimeAmount = .seconds(30)
    ) async throws -> Response {
        let (status, bytes) = try await raw(method, path, body: body, timeout: timeout, auth: auth)
        guard (200..<300).contains(status.code) else { throw Self.error(status: status, body: bytes) }
        do {
            return try WireCoding.makeDecoder().decode(Response.self, from: bytes)
        } catch {
            throw EasyJobsError(
                .internalError, "the manager's answer to \(method) \(path) is not the expected \(Response.self): \(error)")
        }
    }

    /// A host-protocol POST whose answer is a hot-path message, read by the project's own parser.
    func sendMessage<Response: JSONMessage>(_ path: String, body: Data, timeout: TimeAmount = .seconds(30)) async throws -> Response {
        let (status, bytes) = try await raw(.POST, path, body: body, timeout: timeout, auth: .host)
        guard (200..<300).contains(status.code) else { throw Self.error(status: status, body: bytes) }
        do {
            return try Response.decode(bytes)
        } catch {
            throw EasyJobsError(.internalError, "the manager's answer to POST \(path) is not the expected \(Response.self): \(error.message)")
        }
    }

    func raw(_ method: HTTPMethod, _ path: String, body: Data?, timeout: TimeAmount, auth: Auth) async throws -> (HTTPResponseStatus, Data) {
        let baseURL = endpoints.current
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        switch auth {
        case .host:
            if let secret { request.headers.add(name: WireContract.Header.secret, value: secret) }
            if let token = session.token { request.headers.add(name: WireContract.Header.session, value: token) }
        case .job(let token):
            request.headers.add(name: WireContract.Header.jobToken, value: token)
        case .client:
            if let apiToken { request.headers.add(name: "Authorization", value: "Bearer \(apiToken)") }
        }
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: timeout)
        } catch {
            // The caller's retry goes to the next manager of the store, if there is one.
            endpoints.failed(baseURL)
            throw EasyJobsError(
                .managerUnavailable, "cannot reach the manager at \(baseURL): \(error)", context: ["manager": baseURL])
        }
        let buffer = try await response.body.collect(upTo: 64 << 20)
        return (response.status, Data(buffer.readableBytesView))
    }

    static func error(status: HTTPResponseStatus, body: Data) -> EasyJobsError {
        if var decoded = try? JSONDecoder().decode(ErrorResponse.self, from: body).error {
            // Callers tell a refusal (4xx: sending it again cannot help) from a failure.
            decoded.context["http_status"] = "\(status.code)"
            return decoded
        }
        return EasyJobsError(
            .internalError, "the manager answered \(status.code) \(status.reasonPhrase): \(String(decoding: body.prefix(500), as: UTF8.self))")
    }

    static func escape(_ component: String) -> String {
        component.percentEncodedComponent
    }
}
