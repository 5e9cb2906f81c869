import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging

/// What makes jobs a pipeline: `run_before` dependencies, `run_after` successors,
/// `on_failure` handlers and tasks that call tasks.
extension Coordinator: JobRules {
    /// Another try while the job has attempts left, after its task's backoff.
    public func retryDelay(for job: Job) -> TimeInterval? {
        if let limit = job.maxAttempts, job.attempts >= limit { return nil }
        let spec = (try? registry.spec(queue: job.queue, task: job.task)) ?? TaskSpec(name: job.task)
        return spec.options.retryDelay(afterAttempt: job.attempts)
    }

    public func followUps(of job: Job) -> [NewJob] {
        switch job.status {
        case .completed: runAfterJobs(of: job)
        case .failed: onFailureJobs(of: job)
        default: []
        }
    }

    /// Most jobs one request may plan through `run_before` (a diamond of dependencies grows
    /// exponentially with its depth).
    static let maxPlannedJobs = 1_000

    /// The jobs to store for one request: the job itself and, when it has `run_before` tasks,
    /// a job for each (transitively), all stored in one transaction. The first job is the one asked for.
    ///
    /// Breadth first with its own work list rather than recursion: the depth of a `run_before`
    /// chain is whatever hosts registered.
    func plan(queue: String, spec: TaskSpec, arguments: [String: JSONValue], origin: JobOrigin) throws(EasyJobsError) -> [NewJob] {
        struct Item {
            let id: String
            let spec: TaskSpec
            let arguments: [String: JSONValue]
            let origin: JobOrigin
            /// The tasks from the request's task down to this one: a name twice is a cycle.
            let path: [String]
        }
        var work = [Item(id: Job.newID(), spec: spec, arguments: arguments, origin: origin, path: [spec.name])]
        var jobs: [NewJob] = []
        var index = 0
        while index < work.count {
            let item = work[index]
            index += 1
            for name in item.spec.options.runBefore {
                guard !item.path.contains(name) else {
                    throw EasyJobsError(
                        .invalidArguments, "cycle through run_before: \((item.path + [name]).joined(separator: " → "))",
                        context: ["queue": queue, "task": spec.name])
                }
                let dependency: TaskSpec
                do {
                    dependency = try registry.spec(queue: queue, task: name)
                } catch {
                    throw EasyJobsError(
                        .unknownTask, "task '\(item.spec.name)' runs '\(name)' before it, but \(error.message)",
                        context: ["queue": queue, "task": item.spec.name, "run_before": name])
                }
                work.append(
                    Item(
                        id: Job.newID(), spec: dependency, arguments: try dependency.bind([:]), origin: JobOrigin(.runBefore, parent: item.id),
                        path: item.path + [name]))
                guard work.count <= Self.maxPlannedJobs else {
                    throw EasyJobsError(
                        .invalidArguments,
                        "task '\(spec.name)' needs more than \(Self.maxPlannedJobs) jobs through run_before; split its dependencies",
                        context: ["queue": queue, "task": spec.name, "limit": "\(Self.maxPlannedJobs)"])
                }
            }
            jobs.append(
                NewJob(
                    id: item.id, queue: queue, task: item.spec.name, args: item.arguments,
                    status: item.spec.options.runBefore.isEmpty ? .queued : .waiting, origin: item.origin,
                    maxAttempts: item.spec.options.attemptLimit, dependencies: item.spec.options.runBefore.count))
        }
        return jobs
    }

    /// The `run_after` jobs of a completed job, with its result as their arguments. A result
    /// that does not fit makes a job that is born failed, saying why: nothing is dropped in silence.
    func runAfterJobs(of job: Job) -> [NewJob] {
        guard let spec = try? registry.spec(queue: job.queue, task: job.task), !spec.options.runAfter.isEmpty else { return [] }
        var created: [NewJob] = []
        let origin = JobOrigin(.runAfter, parent: job.id)
        for name in spec.options.runAfter {
            do {
                let next = try registry.spec(queue: job.queue, task: name)
                guard case .object = job.result ?? .null else {
                    throw EasyJobsError(
                        .invalidArguments,
                        "the result of '\(job.task)' (job \(job.id)) is \((job.result ?? .null).typeName), not an object of keyword arguments for '\(name)'"
                    )
                }
                let bound: [String: JSONValue]
                do {
                    bound = try next.bind(job.result ?? .null)
                } catch {
                    throw EasyJobsError(.invalidArguments, "the result of '\(job.task)' (job \(job.id)) does not fit '\(name)': \(error.message)")
                }
                created += try plan(queue: job.queue, spec: next, arguments: bound, origin: origin)
            } catch {
                let message = (error as? EasyJobsError)?.message ?? "\(error)"
                let failed = NewJob(queue: job.queue, task: name, args: [:], status: .failed, origin: origin, maxAttempts: 1, error: message)
                created.append(failed)
                logger.warning("run_after job failed before it ran: \(message)", metadata: ["job_id": "\(failed.id)", "parent": "\(job.id)"])
            }
        }
        return created
    }

    /// The `on_failure` job of a job that failed for good, with `job_failed`.
    func onFailureJobs(of job: Job) -> [NewJob] {
        guard let spec = try? registry.spec(queue: job.queue, task: job.task), let handler = spec.options.onFailure else { return [] }
        let failure: JSONValue = [
            "job_id": .string(job.id), "task": .string(job.task), "args": .object(job.args),
            "error": .string(job.error ?? ""), "attempts": .int(job.attempts),
        ]
        do {
            let handlerSpec = try registry.spec(queue: job.queue, task: handler)
            return try plan(
                queue: job.queue, spec: handlerSpec, arguments: try handlerSpec.bind(["job_failed": failure]),
                origin: JobOrigin(.onFailure, parent: job.id))
        } catch {
            logger.error(
                "cannot enqueue the on_failure task '\(handler)' of job \(job.id): \(error.message)",
                metadata: ["job_id": "\(job.id)"])
            return []
        }
    }

    /// A running job calls a task of its queue (`context.call`) or enqueues one (`context.enqueue`);
    /// the new job's origin points at it. Its options are checked as a client's are.
    public func call(_ request: CallRequest) async throws -> Job {
        guard let parent = try await store.job(id: request.parentID) else {
            throw EasyJobsError(.jobNotFound, "no job with request id '\(request.parentID)'", context: ["request_id": request.parentID])
        }
        guard parent.status == .running, parent.hostID == request.hostID, parent.lease == request.lease else {
            throw EasyJobsError(
                .leaseLost, "job \(parent.id) is not running on this host, so it cannot call tasks", context: ["request_id": parent.id])
        }
        let options = try EnqueueOptions(fields: request.options?.fields ?? [:])
        return try await enqueue(
            queue: parent.queue, task: request.task, arguments: request.args,
            origin: JobOrigin(request.waits == false ? .enqueued : .call, parent: parent.id), options: options)
    }

    /// Every job reachable from `id` through the edges that created them.
    public func graph(of id: String, limit: Int = 2_000) async throws -> JobGraph {
        let root = try await job(id: id)
        var jobs: [Job] = [root]
        var edges: [JobGraph.Edge] = []
        var frontier = [root.id]
        var children: [String: [Job]] = [:]
        while let next = frontier.first, jobs.count < limit {
            frontier.removeFirst()
            let kids = try await store.children(of: next)
            children[next] = kids
            for kid in kids {
                edges.append(JobGraph.Edge(from: next, to: kid.id, kind: kid.origin.kind))
                jobs.append(kid)
                frontier.append(kid.id)
            }
        }
        let views = jobs.map { job in
            JobView(job, hostName: job.hostID.flatMap { registry.host(id: $0)?.name }, children: children[job.id] ?? [])
        }
        return JobGraph(root: root.id, jobs: views, edges: edges)
    }
}
