import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging
import ServiceLifecycle

/// Enqueues: a task's arguments checked against its signature, its `run_before` dependencies
/// planned, the jobs stored (committed before the client hears of them).
extension Coordinator {
    /// Checks the arguments against the task's signature, then stores the job; the job is
    /// committed when this returns.
    /// A client's enqueue of a task that no host serves now is refused unless `queueAnyway`;
    /// jobs a pipeline creates are always queued.
    public func enqueue(queue: String, task: String, arguments: JSONValue, origin: JobOrigin = .api, queueAnyway: Bool = false) async throws -> Job {
        let jobs = try planEnqueue(queue: queue, task: task, arguments: arguments, origin: origin, queueAnyway: queueAnyway)
        try await batcher.enqueue(jobs)
        metrics.enqueued(jobs)
        notifier.workArrived(in: queue)
        return jobs[0].job
    }

    /// The checks of one enqueue, in one place for single and batch enqueues: nesting, the task,
    /// whether a host serves it (for a client's enqueue), the arguments against its signature;
    /// then the jobs it makes (its run_before dependencies first in the list's order of planning).
    func planEnqueue(queue: String, task: String, arguments: JSONValue, origin: JobOrigin, queueAnyway: Bool) throws(EasyJobsError) -> [NewJob] {
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
        return try plan(queue: queue, spec: spec, arguments: try spec.bind(arguments), origin: origin)
    }

    /// Checks every job of a batch as ``enqueue(queue:task:arguments:origin:queueAnyway:)``
    /// checks one, then stores them all in one transaction: either every job is committed, or,
    /// when one is refused, none is and the error names the job by its index in the batch.
    /// Returns the jobs in the order given.
    public func enqueueBatch(queue: String, items: [BatchEnqueueItem], queueAnyway: Bool = false) async throws -> [Job] {
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
        var heads: [Job] = []
        heads.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            do throws(EasyJobsError) {
                let spec = try registry.spec(queue: queue, task: item.task)
                let arguments = try spec.keywordArguments(body: item.arguments, query: [])
                let jobs = try planEnqueue(queue: queue, task: item.task, arguments: arguments, origin: .api, queueAnyway: queueAnyway)
                planned += jobs
                heads.append(jobs[0].job)
            } catch {
                var context = error.context
                context["index"] = "\(index)"
                throw EasyJobsError(error.code, "job \(index) of the batch (task '\(item.task)'): \(error.message)", context: context)
            }
        }
        try await batcher.enqueue(planned)
        metrics.enqueued(planned)
        notifier.workArrived(in: queue)
        return heads
    }
}
