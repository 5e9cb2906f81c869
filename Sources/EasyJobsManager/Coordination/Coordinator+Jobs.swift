import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging
import ServiceLifecycle

/// What a client does with one job: wait for it, pull its result, cancel, retry or discard it.
extension Coordinator {
    /// Waits up to `wait` for the job to finish. Returns the job as it is then.
    public func awaitFinish(id: String, wait: Double, isClientConnected: @escaping @Sendable () -> Bool = { true }) async throws -> Job {
        let poll = LongPoll(wait: wait, maxWait: options.maxWait, isClientConnected: isClientConnected)
        let finished = try await poll.run(version: { notifier.finishVersion }) { isLast in
            let job = try await self.job(id: id)
            return job.status.isFinished || isLast ? job : nil
        } wait: { [notifier] version, timeout in
            await notifier.waitForFinish(of: id, after: version, timeout: timeout)
        }
        if let finished { return finished }
        return try await self.job(id: id)
    }

    /// Marks a finished job's result as pulled; `first` is true for the one pull that consumed it.
    public func pull(id: String) async throws -> (job: Job, first: Bool) {
        guard let pulled = try await store.pull(id: id, now: .now) else {
            throw EasyJobsError(.jobNotFound, "no job with request id '\(id)'", context: ["request_id": id])
        }
        return pulled
    }

    /// Cancels a job. A queued or waiting job ends at once; a running one is stopped by its host,
    /// which the host hears through its events poll.
    public func cancel(id: String) async throws -> Job {
        guard let (job, transitions) = try await store.cancel(jobID: id, now: .now, rules: self) else {
            throw EasyJobsError(.jobNotFound, "no job with request id '\(id)'", context: ["request_id": id])
        }
        apply(transitions)
        if job.status == .running, let host = job.hostID {
            notifier.workArrived(in: Self.eventsKey(host))
        }
        logger.info("cancellation asked", metadata: ["job_id": "\(id)", "status": "\(job.status.rawValue)"])
        return job
    }

    /// Runs a finished job again as a new job with the same task and arguments.
    public func retry(id: String) async throws -> Job {
        let job = try await self.job(id: id)
        guard job.status == .failed || job.status == .cancelled || job.status == .expired else {
            throw EasyJobsError(
                .jobStateConflict, "job '\(id)' is \(job.status.rawValue); only failed, cancelled or expired jobs are retried",
                context: ["request_id": id, "status": job.status.rawValue])
        }
        return try await enqueue(
            queue: job.queue, task: job.task, arguments: .object(job.args), queueAnyway: true,
            options: EnqueueOptions(priority: job.priority == 0 ? nil : job.priority))
    }

    /// Deletes a finished job (a dead job an operator has seen).
    public func discard(id: String) async throws {
        guard try await store.discard(jobID: id) else {
            let job = try await self.job(id: id)
            throw EasyJobsError(
                .jobStateConflict, "job '\(id)' is \(job.status.rawValue); only finished jobs are discarded",
                context: ["request_id": id, "status": job.status.rawValue])
        }
    }
}

extension Coordinator {
    /// Queues the scheduled jobs whose time came and ends `expired` the jobs not started by their
    /// deadline, in every queue (the lease reaper's rounds). A claim queues its own queue's due
    /// jobs first and never takes one past its deadline, so this bounds how late a job waiting
    /// in a queue no host claims from is seen to be due or to have expired.
    public func sweepDueJobs() async throws {
        if try await store.promoteScheduled(queue: nil, now: .now) > 0 {
            notifier.workArrivedEverywhere()
        }
        let transitions = try await store.expireOverdue(now: .now, rules: self)
        apply(transitions)
        for job in transitions.finished where job.status == .expired {
            logger.info("job expired: \(job.error ?? "")", metadata: ["job_id": "\(job.id)", "task": "\(job.task)", "queue": "\(job.queue)"])
        }
    }
}

extension Coordinator {
    /// Puts the dead jobs `filter` takes back in their queues, each under its own request id
    /// (``DeadJobStore/reviveDead(_:now:)``).
    public func reviveDead(_ filter: DeadJobFilter) async throws -> [Job] {
        let revived = try await store.reviveDead(filter, now: .now)
        for queue in Set(revived.map(\.queue)) { notifier.workArrived(in: queue) }
        if !revived.isEmpty {
            logger.info(
                "dead jobs queued again",
                metadata: ["count": "\(revived.count)", "queue": "\(filter.queue ?? "*")", "task": "\(filter.task ?? "*")"])
        }
        return revived
    }

    /// Deletes the dead jobs `filter` takes; returns how many.
    public func discardDead(_ filter: DeadJobFilter) async throws -> Int {
        let count = try await store.discardDead(filter)
        if count > 0 {
            logger.info("dead jobs discarded", metadata: ["count": "\(count)", "queue": "\(filter.queue ?? "*")", "task": "\(filter.task ?? "*")"])
        }
        return count
    }
}

extension Coordinator {
    /// Records a running job's progress; refused (`lease_lost`) when the host no longer holds
    /// its run, so a stale run cannot overwrite what the current one reports.
    public func recordProgress(_ request: ProgressRequest) async throws {
        guard request.fraction.isFinite, (0...1).contains(request.fraction) else {
            throw EasyJobsError(
                .malformedRequest, "progress must be a fraction from 0 to 1, got \(request.fraction)", context: ["request_id": request.jobID])
        }
        let message = request.message.map { String($0.prefix(ProgressRequest.maxMessageLength)) }
        guard
            try await store.setProgress(
                jobID: request.jobID, lease: request.lease, hostID: request.hostID, fraction: request.fraction, message: message)
        else {
            throw EasyJobsError(
                .leaseLost, "job \(request.jobID) is not running on this host under lease \(request.lease)", context: ["request_id": request.jobID])
        }
    }
}
