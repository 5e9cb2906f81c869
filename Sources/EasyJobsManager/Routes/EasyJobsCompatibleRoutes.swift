import EasyJobsCore
import EasyJobsStore
import Foundation
import Hummingbird

/// The read paths of the Python EasyJobs, answered in its shapes (`--compat easyjobs`), so that
/// its users' scripts keep working: `/job/view/result`, `/job/pull/result`,
/// `/job/view/results|queued|running`. Native clients use the native shapes (see the README).
struct EasyJobsCompatibleRoutes {
    typealias Context = ManagerRequestContext
    let coordinator: Coordinator

    /// The paths these routes answer in place of the native ones.
    static let paths: Set<String> = ["/job/view/result", "/job/pull/result", "/job/view/results", "/job/view/queued", "/job/view/running"]

    func add<Router: RouterMethods<Context>>(to router: DocumentedRouter<Router>) {
        router.get("/job/view/result", use: viewResult)
        router.get("/job/pull/result", use: pullResult)
        router.get("/job/view/results") { _, _ in
            let jobs = try await coordinator.findJobs(JobFilter(statuses: [.completed, .failed], limit: 1000))
            return JSONResponse.raw(JSONValue.array(jobs.map(Self.resultRow)).encoded())
        }
        router.get("/job/view/queued") { request, _ in
            let jobs = try await coordinator.findJobs(JobFilter(queue: request.query("namespace"), statuses: [.queued, .waiting], limit: 1000))
            return JSONResponse.raw(JSONValue.array(jobs.map(Self.queueRow)).encoded())
        }
        router.get("/job/view/running") { request, _ in
            let statuses: Set<JobStatus> = request.query("status").flatMap(JobStatus.init(rawValue:)).map { [$0] } ?? [.running]
            let jobs = try await coordinator.findJobs(
                JobFilter(queue: request.query("namespace"), task: request.query("name"), statuses: statuses, limit: 1000))
            return JSONResponse.raw(JSONValue.array(jobs.map(jobRow)).encoded())
        }
    }

    /// The result row of a finished job, or the job row while it has none; a string for an unknown id (as EasyJobs answers).
    @Sendable func viewResult(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.requestID(request)
        guard let job = try await coordinator.findJob(id: id), job.pulledAt == nil else {
            return JSONResponse.raw(JSONValue.string("no job matching request_id \(id)").encoded())
        }
        return JSONResponse.raw((job.status.isFinished ? Self.resultRow(job) : jobRow(job)).encoded())
    }

    /// The result itself, consumed; EasyJobs' 404 `no result found` when none came within the wait.
    @Sendable func pullResult(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.requestID(request)
        guard try await coordinator.findJob(id: id) != nil else {
            return JSONResponse.raw(JSONValue.string("No queued job with request_id \(id) found").encoded())
        }
        let wait = request.query("wait").flatMap(Double.init) ?? 5
        let channel = context.channel
        let current = try await coordinator.awaitFinish(id: id, wait: max(0, wait)) { channel.isActive }
        guard current.status.isFinished, current.pulledAt == nil else {
            throw EasyJobsError(.jobNotFound, "no result found with provided id", context: ["request_id": id])
        }
        let (job, first) = try await coordinator.pull(id: id)
        guard first else { throw EasyJobsError(.jobNotFound, "no result found with provided id", context: ["request_id": id]) }
        return JSONResponse.raw(Self.results(of: job).encoded())
    }

    /// What EasyJobs stores as a job's `results`: the return value, or the failure.
    static func results(of job: Job) -> JSONValue {
        switch job.status {
        case .completed: job.result ?? .null
        default: .object(["error": .string(job.error ?? "job \(job.status.rawValue)"), "status": .string(job.status.rawValue)])
        }
    }

    static func resultRow(_ job: Job) -> JSONValue {
        ["job_id": .string(job.id), "results": results(of: job)]
    }

    static func queueRow(_ job: Job) -> JSONValue {
        [
            "request_id": .string(job.id), "namespace": .string(job.queue), "job_id": .string(job.id),
            "job": ["name": .string(job.task), "args": [], "kwargs": .object(job.args)],
        ]
    }

    func jobRow(_ job: Job) -> JSONValue {
        let options = (try? coordinator.spec(queue: job.queue, task: job.task))?.options ?? TaskOptions()
        return [
            "job_id": .string(job.id), "namespace": .string(job.queue), "name": .string(job.task),
            "node_id": job.hostID.map(JSONValue.string) ?? .null, "status": .string(job.status.rawValue),
            "args": [], "kwargs": .object(job.args), "retry_policy": .string(options.retryPolicy.rawValue),
            "on_failure": options.onFailure.map(JSONValue.string) ?? .null,
            "run_before": .array(options.runBefore.map(JSONValue.string)), "run_after": .array(options.runAfter.map(JSONValue.string)),
            "last_update": .string(Self.timestamp(job.finishedAt ?? job.startedAt ?? job.createdAt)),
        ]
    }

    /// EasyJobs' `last_update`: ISO 8601 to the second, without a zone.
    static func timestamp(_ date: Date) -> String {
        String(WireCoding.format(date).prefix(19))
    }

    static func requestID(_ request: Request) throws(EasyJobsError) -> String {
        guard let id = request.query("request_id", "job_id"), !id.isEmpty else {
            throw EasyJobsError(.malformedRequest, "missing query parameter request_id (or job_id)")
        }
        return id
    }
}
