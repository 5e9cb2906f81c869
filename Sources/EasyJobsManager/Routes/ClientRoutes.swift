import EasyJobsCore
import EasyJobsStore
import Foundation
import HTTPTypes
import Hummingbird

/// The client API, with EasyJobs' paths.
struct ClientRoutes {
    typealias Context = ManagerRequestContext
    let coordinator: Coordinator
    /// Paths another set of routes answers (the EasyJobs-compatible read paths).
    var skipping: Set<String> = []

    func add<Router: RouterMethods<Context>>(to router: DocumentedRouter<Router>) {
        router.post("/:queue/task/:task", use: enqueue)
        router.post("/:queue/tasks", use: enqueueBatch)
        if !skipping.contains("/job/view/result") { router.get("/job/view/result", use: viewResult) }
        router.get("/job/view/graph", use: viewGraph)
        router.get("/job/view/log", use: viewLog)
        router.get("/jobs", use: jobs)
        router.get("/queues", use: queues)
        router.post("/job/retry") { request, _ in
            let job = try await coordinator.retry(id: try requestID(request))
            return try JSONResponse.make(EnqueueResponse(requestID: job.id))
        }
        router.post("/job/discard") { request, _ in
            try await coordinator.discard(id: try requestID(request))
            return try JSONResponse.make(["discarded": try requestID(request)])
        }
        router.post("/job/cancel", use: cancel)
        router.post("/jobs/retry") { request, _ in
            let revived = try await coordinator.reviveDead(try Self.deadFilter(request))
            return try JSONResponse.make(BulkRetryResponse(requestIDs: revived.map(\.id)))
        }
        router.post("/jobs/discard") { request, _ in
            try JSONResponse.make(BulkDiscardResponse(discarded: try await coordinator.discardDead(try Self.deadFilter(request))))
        }
        if skipping.isDisjoint(with: ["/job/pull/result", "/job/view/results", "/job/view/queued", "/job/view/running"]) {
            router.get("/job/pull/result", use: pullResult)
            router.get("/job/view/results") { request, _ in try await list(request, statuses: [.completed, .failed]) }
            router.get("/job/view/queued") { request, _ in try await list(request, statuses: [.queued]) }
            router.get("/job/view/running") { request, _ in try await list(request, statuses: [.running]) }
        }
        router.get("/hosts", use: hosts)
        router.get("/tasks", use: tasks)
        router.get("/stats", use: stats)
        router.get("/schedules") { _, _ in try JSONResponse.make(try await coordinator.scheduleViews()) }
        for action in WireContract.PauseAction.allCases {
            let paused = action.pauses
            router.post("/schedules/:queue/:task/\(action.rawValue)") { _, context in
                let queue = try context.parameters.require("queue")
                let task = try context.parameters.require("task")
                try await coordinator.setSchedulePaused(queue: queue, task: task, paused: paused)
                return try JSONResponse.make(try await coordinator.scheduleViews().first { $0.queue == queue && $0.task == task })
            }
            router.post("/control/\(PauseKind.host.pathComponent)/:name/\(action.rawValue)") { _, context in
                try JSONResponse.make(try await coordinator.setPaused(.host, name: try context.parameters.require("name"), paused: paused))
            }
            router.post("/control/\(PauseKind.queue.pathComponent)/:queue/\(action.rawValue)") { _, context in
                try JSONResponse.make(try await coordinator.setPaused(.queue, name: try context.parameters.require("queue"), paused: paused))
            }
        }
        router.post("/schedules/:queue/:task/\(WireContract.ScheduleAction.trigger.rawValue)") { _, context in
            let job = try await coordinator.trigger(queue: try context.parameters.require("queue"), task: try context.parameters.require("task"))
            return try JSONResponse.make(EnqueueResponse(requestID: job.id))
        }
        router.get("/control/paused") { _, _ in
            try JSONResponse.make(coordinator.pausedWork)
        }
    }

    @Sendable func enqueue(_ request: Request, context: Context) async throws -> Response {
        var request = request
        let queue = try context.parameters.require("queue")
        let task = try context.parameters.require("task")
        var arguments = try await request.jsonBody(limit: coordinator.options.maxBodySize)
        let queueAnyway = ["true", "1", "yes"].contains(request.query("queue_anyway")?.lowercased() ?? "")
        // Parameters of the request itself (`queue_anyway` and the enqueue options) are not arguments.
        let parameters = request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) }
        let query = parameters.filter { $0.name != "queue_anyway" && !EnqueueOptions.names.contains($0.name) }
        var fields = Dictionary(parameters.filter { EnqueueOptions.names.contains($0.name) }.map { ($0.name, $0.value) }) { first, _ in first }
        if let key = request.headers[values: Self.idempotencyHeader].first {
            fields["idempotency_key"] = key
        }
        let options = try EnqueueOptions(fields: fields)
        arguments = try coordinator.spec(queue: queue, task: task).keywordArguments(body: arguments, query: query)
        let result = try await coordinator.enqueueJob(queue: queue, task: task, arguments: arguments, queueAnyway: queueAnyway, options: options)
        var response = try JSONResponse.make(EnqueueResponse(requestID: result.job.id, deduplicated: result.isRepeat))
        if result.isRepeat && options.idempotencyKey != nil {
            // The answer of the first request, replayed (the header Stripe and the IETF draft use).
            response.headers[Self.replayedHeader] = "true"
        }
        return response
    }

    static let idempotencyHeader = HTTPField.Name(EnqueueOptions.idempotencyHeader)!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    /// Many jobs of one queue in one request and one transaction: a JSON array of
    /// `{"task": "…", "arguments": {…}}`; answers their request ids in the same order.
    @Sendable func enqueueBatch(_ request: Request, context: Context) async throws -> Response {
        var request = request
        let queue = try context.parameters.require("queue")
        let body = try await request.jsonBody(limit: coordinator.options.maxBatchBodySize)
        let queueAnyway = ["true", "1", "yes"].contains(request.query("queue_anyway")?.lowercased() ?? "")
        let results = try await coordinator.enqueueBatch(queue: queue, items: try Self.batchItems(body), queueAnyway: queueAnyway)
        return try JSONResponse.make(
            BatchEnqueueResponse(requestIDs: results.map(\.job.id), deduplicated: results.indices.filter { results[$0].isRepeat }))
    }

    /// The jobs of a batch body, each checked for its shape; the error names the first job that is not one.
    static func batchItems(_ body: JSONValue) throws(EasyJobsError) -> [BatchEnqueueItem] {
        let expected = #"a JSON array of {"task": "<name>", "arguments": {…}}"#
        guard case .array(let elements) = body else {
            throw EasyJobsError(.malformedRequest, "a batch enqueue takes \(expected), got \(body.typeName)")
        }
        var items: [BatchEnqueueItem] = []
        items.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard case .object(let fields) = element, case .string(let task)? = fields["task"] else {
                throw EasyJobsError(
                    .malformedRequest,
                    "job \(index) of the batch is not {\"task\": \"<name>\", \"arguments\": {…}}: \(element.typeName == "object" ? "its \"task\" is missing or not a string" : "it is \(element.typeName)")",
                    context: ["index": "\(index)"])
            }
            if let unknown = fields.keys.sorted().first(where: { $0 != "task" && $0 != "arguments" && !EnqueueOptions.names.contains($0) }) {
                throw EasyJobsError(
                    .malformedRequest,
                    "job \(index) of the batch has an unknown field '\(unknown)': a job is {\"task\": …, \"arguments\": {…}} and any of \(EnqueueOptions.names.sorted().joined(separator: ", "))",
                    context: ["index": "\(index)"])
            }
            let options: EnqueueOptions
            do throws(EasyJobsError) {
                options = try EnqueueOptions(json: fields)
            } catch {
                var context = error.context
                context["index"] = "\(index)"
                throw EasyJobsError(error.code, "job \(index) of the batch: \(error.message)", context: context)
            }
            items.append(BatchEnqueueItem(task: task, arguments: fields["arguments"] ?? [:], options: options))
        }
        return items
    }

    @Sendable func viewResult(_ request: Request, context: Context) async throws -> Response {
        try JSONResponse.make(try await coordinator.jobView(id: try requestID(request)))
    }

    /// A job's log: the lines its subprocess wrote.
    @Sendable func viewLog(_ request: Request, context: Context) async throws -> Response {
        let limit = min(max(request.query("limit").flatMap(Int.init) ?? 1000, 1), 100_000)
        return try JSONResponse.make(try await coordinator.log(of: try requestID(request), limit: limit))
    }

    /// Cancels a job; answers the job as it is then (`cancelled`, or `running` with `cancel_requested`).
    @Sendable func cancel(_ request: Request, context: Context) async throws -> Response {
        let job = try await coordinator.cancel(id: try requestID(request))
        return try JSONResponse.make(coordinator.view(job))
    }

    /// The whole pipeline reachable from a job: every job it created, and theirs.
    @Sendable func viewGraph(_ request: Request, context: Context) async throws -> Response {
        try JSONResponse.make(try await coordinator.graph(of: try requestID(request)))
    }

    @Sendable func pullResult(_ request: Request, context: Context) async throws -> Response {
        let id = try requestID(request)
        let wait =
            try request.query("wait").map { text throws(EasyJobsError) -> Double in
                guard let seconds = Double(text), seconds >= 0 else {
                    throw EasyJobsError(.malformedRequest, "wait must be a number of seconds, got '\(text)'")
                }
                return seconds
            } ?? 5
        let channel = context.channel
        let current = try await coordinator.awaitFinish(id: id, wait: wait) { channel.isActive }
        if current.pulledAt != nil { throw Coordinator.consumed(current) }
        guard current.status.isFinished else {
            return try JSONResponse.make(PendingResult(requestID: id, status: current.status), status: .accepted)
        }
        let (job, first) = try await coordinator.pull(id: id)
        // Of concurrent pulls, one consumes the result; the others are told it is gone.
        guard first else { throw Coordinator.consumed(job) }
        switch job.status {
        case .failed:
            throw EasyJobsError(
                .jobFailed, job.error ?? "the job failed",
                context: ["request_id": id, "task": job.task, "attempts": "\(job.attempts)"])
        case .expired:
            throw EasyJobsError(
                .jobExpired, job.error ?? "the job was not started by its deadline",
                context: ["request_id": id, "task": job.task, "status": job.status.rawValue])
        case .cancelled:
            throw EasyJobsError(
                .jobCancelled, job.error ?? "the job was cancelled", context: ["request_id": id, "task": job.task, "status": job.status.rawValue])
        default:
            return JSONResponse.raw((job.result ?? .null).encoded())
        }
    }

    func list(_ request: Request, statuses: Set<JobStatus>) async throws -> Response {
        let limit = request.query("limit").flatMap(Int.init) ?? 100
        let filter = JobFilter(
            queue: request.query("namespace", "queue"), task: request.query("name", "task"),
            statuses: request.query("status").flatMap(JobStatus.init(rawValue:)).map { [$0] } ?? statuses,
            limit: min(max(limit, 1), 1000))
        return try JSONResponse.make(JobList(jobs: try await coordinator.findJobs(filter).map { coordinator.view($0) }))
    }

    @Sendable func hosts(_ request: Request, context: Context) async throws -> Response {
        try JSONResponse.make(coordinator.hostViews())
    }

    @Sendable func tasks(_ request: Request, context: Context) async throws -> Response {
        try JSONResponse.make(coordinator.queueTasks())
    }

    /// The dead jobs a bulk retry or discard takes: `queue`, `task`, `status` (failed, expired,
    /// cancelled, comma separated; failed and expired by default), `before` (ended before: ISO
    /// 8601 or seconds since 1970), `limit` (1 to 10,000; 1,000 by default).
    static func deadFilter(_ request: Request) throws(EasyJobsError) -> DeadJobFilter {
        var filter = DeadJobFilter(queue: request.query("queue"), task: request.query("task"))
        if let statuses = try statuses(request.query("status")) {
            guard statuses.isSubset(of: DeadJobFilter.deadStatuses) else {
                throw EasyJobsError(
                    .malformedRequest,
                    "bulk retry and discard take failed, expired or cancelled jobs, got \(statuses.subtracting(DeadJobFilter.deadStatuses).map(\.rawValue).sorted().joined(separator: ", "))",
                    context: ["parameter": "status"])
            }
            filter.statuses = statuses
        }
        if let text = request.query("before") {
            guard let date = WireCoding.parse(text) ?? Double(text).flatMap({ $0.isFinite && $0 >= 0 ? Date(timeIntervalSince1970: $0) : nil }) else {
                throw EasyJobsError(
                    .malformedRequest, "before must be an ISO 8601 time in UTC or seconds since 1970, got '\(text)'", context: ["parameter": "before"]
                )
            }
            filter.finishedBefore = date
        }
        if let text = request.query("limit") {
            guard let limit = Int(text), (1...10_000).contains(limit) else {
                throw EasyJobsError(.malformedRequest, "limit must be a whole number from 1 to 10000, got '\(text)'", context: ["parameter": "limit"])
            }
            filter.limit = limit
        }
        return filter
    }

    /// Statuses from a comma-separated list; `nil` when none was given.
    static func statuses(_ text: String?) throws(EasyJobsError) -> Set<JobStatus>? {
        guard let text else { return nil }
        var statuses: Set<JobStatus> = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let status = JobStatus(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw EasyJobsError(
                    .malformedRequest, "unknown status '\(name)' (one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", ")))",
                    context: ["parameter": "status"])
            }
            statuses.insert(status)
        }
        return statuses
    }

    /// Jobs of any status, filtered and paged on the server (`queue`, `task`, `status` (one or
    /// several, comma separated), `since` in seconds since 1970, `limit`, `offset`), newest first.
    @Sendable func jobs(_ request: Request, context: Context) async throws -> Response {
        let statuses = try Self.statuses(request.query("status"))
        let filter = JobFilter(
            queue: request.query("queue"), task: request.query("task"), statuses: statuses, excludePulled: false,
            limit: min(max(request.query("limit").flatMap(Int.init) ?? 50, 1), 1000),
            offset: max(request.query("offset").flatMap(Int.init) ?? 0, 0),
            since: request.query("since").flatMap(Double.init).map(Date.init(timeIntervalSince1970:)))
        return try JSONResponse.make(JobList(jobs: try await coordinator.findJobs(filter).map { coordinator.view($0) }))
    }

    /// Each queue: jobs by status now, and finished in the last minute.
    @Sendable func queues(_ request: Request, context: Context) async throws -> Response {
        JSONResponse.raw(try await coordinator.queueSummaries().encoded())
    }

    /// Job counts by status, of one queue (`?queue=`) or all.
    @Sendable func stats(_ request: Request, context: Context) async throws -> Response {
        try JSONResponse.make(try await coordinator.counts(queue: request.query("queue", "namespace")))
    }

    private func requestID(_ request: Request) throws(EasyJobsError) -> String {
        guard let id = request.query("request_id", "job_id"), !id.isEmpty else {
            throw EasyJobsError(.malformedRequest, "missing query parameter request_id (or job_id)")
        }
        return id
    }

}
