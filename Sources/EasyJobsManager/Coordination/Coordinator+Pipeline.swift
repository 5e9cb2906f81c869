import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging

/// What makes jobs a pipeline: `run_before` dependencies, `run_after` successors,
/// `on_failure` handlers and tasks that call tasks.
extension Coordinator {
    /// The jobs to store for one request: the job itself and, when it has `run_before` tasks,
    /// a job for each (recursively), all stored in one transaction. The first job is the one asked for.
    func plan(queue: String, spec: TaskSpec, arguments: [String: JSONValue], origin: JobOrigin, path: [String] = []) throws -> [NewJob] {
        guard !path.contains(spec.name) else {
            throw EasyJobsError(
                .invalidArguments, "cycle through run_before: \((path + [spec.name]).joined(separator: " → "))",
                context: ["queue": queue, "task": spec.name])
        }
        let id = Job.newID()
        var dependencies: [NewJob] = []
        for name in spec.options.runBefore {
            let dependency: TaskSpec
            do {
                dependency = try registry.spec(queue: queue, task: name)
            } catch {
                throw EasyJobsError(
                    .unknownTask, "task '\(spec.name)' runs '\(name)' before it, but \(error.message)",
                    context: ["queue": queue, "task": spec.name, "run_before": name])
            }
            let bound = try dependency.bind([:])
            dependencies += try plan(
                queue: queue, spec: dependency, arguments: bound, origin: JobOrigin(.runBefore, parent: id), path: path + [spec.name])
        }
        let job = NewJob(
            id: id, queue: queue, task: spec.name, args: arguments, status: spec.options.runBefore.isEmpty ? .queued : .waiting,
            origin: origin, maxAttempts: spec.options.attemptLimit, dependencies: spec.options.runBefore.count)
        return [job] + dependencies
    }

    /// Gives finished jobs their consequences: successors, releases, failure handlers.
    func followUp(_ jobs: [Job]) async throws {
        var pending = jobs
        while !pending.isEmpty {
            let job = pending.removeFirst()
            switch job.status {
            case .completed:
                pending += try await runAfter(job)
                try await releaseParent(of: job)
            case .failed:
                try await onFailure(job)
                if let parent = try await failParent(of: job) { pending.append(parent) }
            case .cancelled:
                if let parent = try await failParent(of: job) { pending.append(parent) }
            default:
                break
            }
        }
    }

    /// Enqueues the `run_after` tasks of a completed job with its result as their arguments.
    /// A result that does not fit makes a job that is born failed, saying why: nothing is
    /// dropped in silence. Returns the jobs born failed.
    private func runAfter(_ job: Job) async throws -> [Job] {
        guard let spec = try? registry.spec(queue: job.queue, task: job.task), !spec.options.runAfter.isEmpty else { return [] }
        var created: [NewJob] = []
        var bornFailed: [Job] = []
        let origin = JobOrigin(.runAfter, parent: job.id)
        for name in spec.options.runAfter {
            do {
                let next = try registry.spec(queue: job.queue, task: name)
                guard case .object = job.result ?? .null else {
                    throw EasyJobsError(
                        .invalidArguments,
                        "the result of '\(job.task)' (job \(job.id)) is \((job.result ?? .null).typeName), not an object of keyword arguments for '\(name)'")
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
                bornFailed.append(failed.job)
                logger.warning("run_after job failed before it ran: \(message)", metadata: ["job_id": "\(failed.id)", "parent": "\(job.id)"])
            }
        }
        guard !created.isEmpty else { return [] }
        try await batcher.enqueue(created)
        metrics.enqueued(created)
        notifier.workArrived(in: job.queue)
        for failed in bornFailed { notifier.jobFinished(failed.id) }
        return bornFailed
    }

    /// A `run_before` job completed: its parent starts once all its dependencies have.
    private func releaseParent(of job: Job) async throws {
        guard job.origin.kind == .runBefore, let parent = job.origin.parentID else { return }
        let released = try await store.releaseReady(jobID: parent)
        if !released.isEmpty { notifier.workArrived(in: job.queue) }
    }

    /// A `run_before` job failed for good: its parent fails, naming it. Returns the parent.
    private func failParent(of job: Job) async throws -> Job? {
        guard job.origin.kind == .runBefore, let parent = job.origin.parentID else { return nil }
        let reason =
            job.status == .cancelled
            ? "run_before task '\(job.task)' (job \(job.id)) was cancelled"
            : "run_before task '\(job.task)' (job \(job.id)) failed: \(job.error ?? "unknown error")"
        guard let failed = try await store.failWaiting(jobID: parent, error: reason, now: .now) else { return nil }
        notifier.jobFinished(failed.id)
        logger.info("job failed: a dependency failed", metadata: ["job_id": "\(failed.id)", "task": "\(failed.task)", "dependency": "\(job.id)"])
        return failed
    }

    /// Enqueues the `on_failure` task of a job that failed for good, with `job_failed`.
    private func onFailure(_ job: Job) async throws {
        guard let spec = try? registry.spec(queue: job.queue, task: job.task), let handler = spec.options.onFailure else { return }
        let failure: JSONValue = [
            "job_id": .string(job.id), "task": .string(job.task), "args": .object(job.args),
            "error": .string(job.error ?? ""), "attempts": .int(job.attempts),
        ]
        do {
            _ = try await enqueue(queue: job.queue, task: handler, arguments: ["job_failed": failure], origin: JobOrigin(.onFailure, parent: job.id))
        } catch {
            logger.error(
                "cannot enqueue the on_failure task '\(handler)' of job \(job.id): \((error as? EasyJobsError)?.message ?? "\(error)")",
                metadata: ["job_id": "\(job.id)"])
        }
    }

    /// A running job calls a task of its queue (`context.call`); the new job's origin points at it.
    public func call(_ request: CallRequest) async throws -> Job {
        guard let parent = try await store.job(id: request.parentID) else {
            throw EasyJobsError(.jobNotFound, "no job with request id '\(request.parentID)'", context: ["request_id": request.parentID])
        }
        guard parent.status == .running, parent.hostID == request.hostID else {
            throw EasyJobsError(
                .leaseLost, "job \(parent.id) is not running on this host, so it cannot call tasks", context: ["request_id": parent.id])
        }
        return try await enqueue(queue: parent.queue, task: request.task, arguments: request.args, origin: JobOrigin(.call, parent: parent.id))
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
