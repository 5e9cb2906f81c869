import EasyJobsCore
import EasyJobsStore
import Foundation

/// What the read paths of the API answer: jobs, logs, hosts, tasks, queues and counts, as the
/// views the API shows. Routes read through these, never the store or the registry directly,
/// so a rule of what a view shows (a job's note, a host's problems) lives here once.
extension Coordinator {
    /// A job as the API shows it: its host's name, and a note when no host serves its task.
    public func view(_ job: Job, children: [Job] = []) -> JobView {
        var view = JobView(job, hostName: job.hostID.flatMap { registry.host(id: $0)?.name }, children: children)
        if job.status == .queued && !isServed(queue: job.queue, task: job.task) {
            view.note = "no host serves this task"
        }
        return view
    }

    /// A job with the jobs it triggered, unless its result was pulled (`410 result_consumed`).
    public func jobView(id: String) async throws -> JobView {
        let job = try await self.job(id: id)
        if job.pulledAt != nil { throw Self.consumed(job) }
        return view(job, children: try await store.children(of: job.id))
    }

    /// The error of a job whose result a pull consumed.
    static func consumed(_ job: Job) -> EasyJobsError {
        EasyJobsError(.resultConsumed, "the result of job '\(job.id)' was already pulled", context: ["request_id": job.id])
    }

    /// The job, if there is one; `nil` where the API answers an unknown id in its own words.
    public func findJob(id: String) async throws -> Job? {
        try await store.job(id: id)
    }

    /// Jobs matching `filter`, newest first.
    public func findJobs(_ filter: JobFilter) async throws -> [Job] {
        try await store.jobs(filter)
    }

    /// The last `limit` lines a job's runs wrote.
    public func log(of id: String, limit: Int) async throws -> JobLog {
        let job = try await self.job(id: id)
        return JobLog(requestID: job.id, lines: try await store.logs(jobID: job.id, limit: limit))
    }

    /// Every known host, by name.
    public func hostViews(now: Date = .now) -> [HostView] {
        registry.hosts.sorted { $0.name < $1.name }.map { host in
            HostView(
                hostID: host.id, name: host.name, queue: host.queue, queues: host.queues, maxTasks: host.maxTasks, plugins: host.plugins,
                refused: host.refused, lastHeartbeat: host.lastSeen, online: isOnline(host, now: now),
                problems: problems(of: host), paused: host.queues.allSatisfy { pauses.isPaused(host: host.name, queue: $0.name) })
        }
    }

    /// The tasks registered now, by queue, with their pipeline problems.
    public func queueTasks() -> [QueueTasks] {
        registry.queues.sorted { $0.key < $1.key }.map {
            QueueTasks(queue: $0.key, tasks: $0.value, problems: registry.problems(queue: $0.key))
        }
    }

    /// The specification of a task registered now (`404` for an unknown queue or task).
    public func spec(queue: String, task: String) throws(EasyJobsError) -> TaskSpec {
        try registry.spec(queue: queue, task: task)
    }

    /// Each queue that has tasks or finished jobs lately: jobs by status now, finished in the
    /// last minute, and whether it is paused.
    public func queueSummaries(now: Date = .now) async throws -> JSONValue {
        let recent = try await store.finishedCounts(since: now.addingTimeInterval(-60))
        var summaries: [JSONValue] = []
        for queue in Set(registry.queues.keys).union(recent.keys).sorted() {
            var statuses: [String: JSONValue] = [:]
            for (status, count) in try await counts(queue: queue) { statuses[status] = .int(count) }
            summaries.append([
                "queue": .string(queue), "counts": .object(statuses),
                "completed_last_minute": .int(recent[queue]?[.completed] ?? 0), "failed_last_minute": .int(recent[queue]?[.failed] ?? 0),
                "paused": .bool(pauses.names(of: .queue).contains(queue)),
            ])
        }
        return .array(summaries)
    }

    /// Jobs by status (every status, 0 included), of one queue or all.
    public func counts(queue: String?) async throws -> [String: Int] {
        let counts = try await store.counts(queue: queue)
        var byStatus: [String: Int] = [:]
        for status in JobStatus.allCases { byStatus[status.rawValue] = counts[status] ?? 0 }
        return byStatus
    }

    /// The hosts and queues paused now.
    public var pausedWork: PausedWork {
        PausedWork(hosts: pauses.names(of: .host), queues: pauses.names(of: .queue))
    }
}
