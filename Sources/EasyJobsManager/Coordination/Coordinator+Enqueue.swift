import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging
import Crypto
import ServiceLifecycle

/// Enqueues: a task's arguments checked against its signature, its `run_before` dependencies
/// planned, the jobs stored (committed before the client hears of them).
extension Coordinator {
    /// Checks the arguments against the task's signature, then stores the job; the job is
    /// committed when this returns.
    /// A client's enqueue of a task that no host serves now is refused unless `queueAnyway`;
    /// jobs a pipeline creates are always queued.
    ///
    /// With an idempotency key or `unique_for` in `options`, an enqueue that repeats an earlier
    /// one answers that job (``EnqueueResult/isRepeat``) and stores nothing.
    public func enqueue(
        queue: String, task: String, arguments: JSONValue, origin: JobOrigin = .api, queueAnyway: Bool = false,
        options: EnqueueOptions = EnqueueOptions()
    ) async throws -> Job {
        try await enqueueJob(queue: queue, task: task, arguments: arguments, origin: origin, queueAnyway: queueAnyway, options: options).job
    }

    /// ``enqueue(queue:task:arguments:origin:queueAnyway:options:)``, saying whether it repeated an earlier enqueue.
    public func enqueueJob(
        queue: String, task: String, arguments: JSONValue, origin: JobOrigin = .api, queueAnyway: Bool = false,
        options: EnqueueOptions = EnqueueOptions()
    ) async throws -> EnqueueResult {
        let jobs = try planEnqueue(queue: queue, task: task, arguments: arguments, origin: origin, queueAnyway: queueAnyway, options: options)
        let matched = try await batcher.enqueue(jobs)
        if let existing = matched[jobs[0].id] {
            return EnqueueResult(job: existing, isRepeat: true)
        }
        metrics.enqueued(jobs)
        notifier.workArrived(in: queue)
        return EnqueueResult(job: jobs[0].job, isRepeat: false)
    }

    static let idempotencyKeyPrefix = "key:"

    /// The uniqueness `options` ask for a job of `task` with `arguments`.
    static func uniqueness(task: String, arguments: [String: JSONValue], options: EnqueueOptions, now: Date) -> Uniqueness? {
        if let key = options.idempotencyKey {
            return Uniqueness(key: idempotencyKeyPrefix + key, requiresSameJob: true)
        }
        if let period = options.uniqueFor {
            // The task and its bound arguments, hashed: the key stays short however large the arguments.
            let canonical = Data((task + "\u{0}").utf8) + JSONValue.object(arguments).encoded()
            return Uniqueness(
                key: "args:" + SHA256.hash(data: canonical).hexEncoded, since: now.addingTimeInterval(-period),
                ignoring: [.failed, .cancelled, .expired])
        }
        return nil
    }

    /// The checks of one enqueue, in one place for single and batch enqueues: nesting, the task,
    /// whether a host serves it (for a client's enqueue), the arguments against its signature;
    /// then the jobs it makes (its run_before dependencies first in the list's order of planning).
    func planEnqueue(
        queue: String, task: String, arguments: JSONValue, origin: JobOrigin, queueAnyway: Bool, options: EnqueueOptions = EnqueueOptions()
    ) throws(EasyJobsError) -> [NewJob] {
        guard JSONNesting.depth(of: arguments) <= JSONNesting.maximumDepth else {
            throw EasyJobsError(.malformedRequest, "the arguments nest JSON deeper than \(JSONNesting.maximumDepth) levels", context: ["task": task])
        }
        let spec = try registry.spec(queue: queue, task: task)
        if origin.kind == .api && !queueAnyway && !isServed(queue: queue, task: task) {
            throw EasyJobsError(
                .taskUnavailable,
                "no host serves task '\(task)' in queue '\(queue)' now; add ?queue_anyway=true to queue the job until one does",
                context: ["queue": queue, "task": task])
        }
        var jobs = try plan(queue: queue, spec: spec, arguments: try spec.bind(arguments), origin: origin)
        guard !options.isEmpty else { return jobs }
        let now = jobs[0].createdAt
        let (runAt, expiresAt) = try options.times(now: now)
        // The whole plan moves together: its run_before jobs wait for the same time, share the
        // priority and the deadline. The key is the requested job's alone.
        for index in jobs.indices {
            jobs[index].priority = options.priority ?? 0
            jobs[index].expiresAt = expiresAt
            if let runAt, runAt > now {
                jobs[index].runAt = runAt
                if jobs[index].status == .queued { jobs[index].status = .scheduled }
            }
        }
        jobs[0].uniqueness = Self.uniqueness(task: task, arguments: jobs[0].args, options: options, now: now)
        if let webhook = options.webhook {
            guard self.options.webhookSecret != nil else {
                throw EasyJobsError(
                    .webhooksUnavailable,
                    "this manager cannot send webhooks: they are signed with --webhook-secret (EASYJOBS_WEBHOOK_SECRET), which is not set",
                    context: ["option": "webhook"])
            }
            jobs[0].webhookURL = webhook
        }
        return jobs
    }

    /// Checks every job of a batch as ``enqueue(queue:task:arguments:origin:queueAnyway:)``
    /// checks one, then stores them all in one transaction: either every job is committed, or,
    /// when one is refused, none is and the error names the job by its index in the batch.
    /// Returns the jobs in the order given.
    /// A job whose key repeats an earlier enqueue answers that job in its place.
    public func enqueueBatch(queue: String, items: [BatchEnqueueItem], queueAnyway: Bool = false) async throws -> [EnqueueResult] {
        guard !items.isEmpty else {
            throw EasyJobsError(
                .malformedRequest, "the batch is empty: send a JSON array of {\"task\": …, \"arguments\": {…}}", context: ["queue": queue])
        }
        guard items.count <= options.maxBatchJobs else {
            throw EasyJobsError(
                .payloadTooLarge, "the batch holds \(items.count) jobs, more than the \(options.maxBatchJobs) one request may carry; split it",
                context: ["queue": queue, "limit": "\(options.maxBatchJobs)"])
        }
        var planned: [NewJob] = []
        planned.reserveCapacity(items.count)
        var heads: [NewJob] = []
        heads.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            do throws(EasyJobsError) {
                let spec = try registry.spec(queue: queue, task: item.task)
                let arguments = try spec.keywordArguments(body: item.arguments, query: [])
                let jobs = try planEnqueue(
                    queue: queue, task: item.task, arguments: arguments, origin: .api, queueAnyway: queueAnyway, options: item.options)
                planned += jobs
                heads.append(jobs[0])
            } catch {
                var context = error.context
                context["index"] = "\(index)"
                throw EasyJobsError(error.code, "job \(index) of the batch (task '\(item.task)'): \(error.message)", context: context)
            }
        }
        let matched = try await batcher.enqueue(planned)
        var results: [EnqueueResult] = []
        results.reserveCapacity(heads.count)
        for head in heads {
            guard let existing = matched[head.id] else {
                results.append(EnqueueResult(job: head.job, isRepeat: false))
                continue
            }
            results.append(EnqueueResult(job: existing, isRepeat: true))
        }
        if matched.isEmpty {
            metrics.enqueued(planned)
        } else {
            metrics.enqueued(planned.filter { job in !matched.keys.contains(job.id) && !matched.keys.contains(job.origin.parentID ?? "") })
        }
        notifier.workArrived(in: queue)
        return results
    }
}

/// What an enqueue made: the job, or the earlier job it repeats.
public struct EnqueueResult: Sendable {
    public var job: Job
    /// The enqueue repeated an earlier one (its idempotency key, or its task and arguments
    /// within `unique_for`): nothing new was stored.
    public var isRepeat: Bool

    public init(job: Job, isRepeat: Bool) {
        self.job = job
        self.isRepeat = isRepeat
    }
}
