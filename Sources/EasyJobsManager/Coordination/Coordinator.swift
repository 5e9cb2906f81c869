import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging
import ServiceLifecycle

/// The manager's logic, apart from HTTP: checks and stores jobs, hands them to hosts and
/// records how they ended.
public struct Coordinator: Sendable {
    public let store: any JobStore
    public let registry: TaskRegistry
    public let notifier: JobNotifier
    public let options: ManagerOptions
    let logger: Logger
    let batcher: EnqueueBatcher
    let tokens: JobTokens
    public let pauses: PauseState
    public let metrics: ManagerMetrics

    public init(
        store: any JobStore, registry: TaskRegistry, notifier: JobNotifier = JobNotifier(), tokens: JobTokens,
        pauses: PauseState = PauseState(), metrics: ManagerMetrics = ManagerMetrics(), options: ManagerOptions, logger: Logger
    ) {
        self.store = store
        self.registry = registry
        self.notifier = notifier
        self.tokens = tokens
        self.pauses = pauses
        self.metrics = metrics
        self.options = options
        self.logger = logger
        batcher = EnqueueBatcher(store: store)
    }

    // MARK: Clients

    /// Checks the arguments against the task's signature, then stores the job; the job is
    /// committed when this returns.
    /// A client's enqueue of a task that no host serves now is refused unless `queueAnyway`;
    /// jobs a pipeline creates are always queued.
    public func enqueue(queue: String, task: String, arguments: JSONValue, origin: JobOrigin = .api, queueAnyway: Bool = false) async throws -> Job {
        let spec = try registry.spec(queue: queue, task: task)
        if origin.kind == .api && !queueAnyway && !isServed(queue: queue, task: task) {
            throw EasyJobsError(
                .taskUnavailable,
                "no host serves task '\(task)' in queue '\(queue)' now; add ?queue_anyway=true to queue the job until one does",
                context: ["queue": queue, "task": task])
        }
        let bound = try spec.bind(arguments)
        let jobs = try plan(queue: queue, spec: spec, arguments: bound, origin: origin)
        try await batcher.enqueue(jobs)
        metrics.enqueued(jobs)
        notifier.workArrived(in: queue)
        return jobs[0].job
    }

    public func job(id: String) async throws -> Job {
        guard let job = try await store.job(id: id) else {
            throw EasyJobsError(.jobNotFound, "no job with request id '\(id)'", context: ["request_id": id])
        }
        return job
    }

    /// Waits up to `wait` for the job to finish. Returns the job as it is then.
    public func awaitFinish(id: String, wait: Double, isClientConnected: @Sendable () -> Bool = { true }) async throws -> Job {
        let deadline = ContinuousClock.now + .milliseconds(Int(min(max(wait, 0), options.maxWait) * 1000))
        while true {
            let version = notifier.finishVersion
            let job = try await self.job(id: id)
            let remaining = deadline - .now
            if job.status.isFinished || remaining <= .zero || !Self.shouldWait(isClientConnected) { return job }
            await cancelWhenGracefulShutdown {
                await notifier.waitForFinish(of: id, after: version, timeout: min(remaining, Self.waitSlice))
            }
        }
    }

    /// Long polls wait in slices, so a poll whose client went away or a manager that is
    /// stopping gives up within one slice.
    static let waitSlice = Duration.milliseconds(500)

    static func shouldWait(_ isClientConnected: () -> Bool) -> Bool {
        !Task.isCancelled && !Task.isShuttingDownGracefully && isClientConnected()
    }

    /// Marks a finished job's result as pulled.
    public func pull(id: String) async throws -> Job {
        guard let job = try await store.pull(id: id, now: .now) else {
            throw EasyJobsError(.jobNotFound, "no job with request id '\(id)'", context: ["request_id": id])
        }
        return job
    }

    // MARK: Hosts

    public func register(_ registration: HostRegistration) async throws -> HostRegistrationResponse {
        let now = Date()
        let record = HostRecord(
            id: registration.hostID, name: registration.name, queue: registration.queue, maxTasks: registration.maxTasks,
            plugins: registration.plugins, refused: registration.refused, registeredAt: now, lastSeen: now)
        try await store.saveHost(record)
        metrics.registered(registration)
        let known = registry.host(id: record.id).map { Set(problems(of: $0)) } ?? []
        registry.register(record)
        try await syncSchedules(of: record)
        logger.info(
            "host registered",
            metadata: [
                "host": "\(registration.name)", "queue": "\(registration.queue)",
                "plugins": "\(registration.plugins.map { "\($0.name)@\($0.version)" }.joined(separator: ","))",
                "refused": "\(registration.refused.count)",
            ])
        for refused in registration.refused {
            logger.warning("host refused a plugin: \(refused.reason)", metadata: ["host": "\(registration.name)"])
        }
        // A host registers again after every plugin change: say only what is new.
        for problem in problems(of: record) where !known.contains(problem) {
            logger.warning("pipeline problem: \(problem)", metadata: ["host": "\(registration.name)", "queue": "\(registration.queue)"])
        }
        // A host may have been waiting for its tasks' queue to exist.
        notifier.workArrived(in: registration.queue)
        return HostRegistrationResponse(leaseSeconds: options.leaseSeconds, heartbeatSeconds: max(options.leaseSeconds / 3, 0.2))
    }

    /// Claims up to `max` jobs for the host, waiting up to `wait` seconds for one to arrive.
    /// Jobs are never claimed for a client that is gone: it would hold them for a whole lease.
    public func claim(_ request: ClaimRequest, isClientConnected: @Sendable () -> Bool = { true }) async throws -> [ClaimedJob] {
        guard let host = registry.host(id: request.hostID), !registry.isLeaving(hostID: host.id) else {
            throw EasyJobsError(.hostNotFound, "unknown host '\(request.hostID)': register first", context: ["host_id": request.hostID])
        }
        let limit = min(max(request.max, 1), 256)
        let queue = host.queue
        let deadline = ContinuousClock.now + .milliseconds(Int(min(max(request.wait, 0), options.maxWait) * 1000))
        while Self.shouldWait(isClientConnected) && !registry.isLeaving(hostID: host.id) {
            let version = notifier.version(of: host.queue)
            // Read each round: a host that reloaded a plugin re-registers while its poll waits.
            let current = registry.host(id: host.id) ?? host
            // A paused host or queue claims nothing; it waits here until resumed or the poll ends.
            let tasks: Set<String> =
                pauses.isPaused(host: current.name, queue: current.queue) ? [] : Set(current.plugins.flatMap { $0.tasks.map(\.name) })
            let jobs = try await store.claim(
                queue: host.queue, tasks: tasks, hostID: host.id, limit: limit, leaseDuration: options.leaseSeconds, now: .now)
            let remaining = deadline - .now
            if !jobs.isEmpty || remaining <= .zero {
                metrics.started(jobs)
                let waited = jobs.filter { $0.dependencies > 0 }.map(\.id)
                let dependencies = waited.isEmpty ? [:] : try await store.dependencyResults(of: waited)
                for job in jobs where job.attempts > 1 {
                    logger.info("retrying job", metadata: ["job_id": "\(job.id)", "task": "\(job.task)", "attempt": "\(job.attempts)", "queue": "\(queue)"])
                }
                return jobs.map { job in
                    let subprocess = (try? registry.spec(queue: queue, task: job.task))?.options.subprocess ?? false
                    return ClaimedJob(
                        jobID: job.id, task: job.task, args: job.args, attempt: job.attempts, leaseExpiresAt: job.leaseExpiresAt ?? .now,
                        dependencies: dependencies[job.id] ?? [:],
                        token: subprocess ? tokens.token(jobID: job.id, attempt: job.attempts) : nil)
                }
            }
            await cancelWhenGracefulShutdown {
                await notifier.waitForWork(in: host.queue, after: version, timeout: min(remaining, Self.waitSlice))
            }
        }
        return []
    }

    public func report(_ request: ReportRequest) async throws -> ReportResponse {
        let now = Date()
        var finals: [JobReport] = []
        var retried: [Job] = []
        for report in request.reports {
            guard case .failed(let error) = report.outcome else {
                finals.append(report)
                continue
            }
            // A failure with tries left is a retry, not an end.
            if let job = try await store.job(id: report.jobID), job.status == .running, job.hostID == request.hostID,
                job.maxAttempts.map({ job.attempts < $0 }) ?? true
            {
                let spec = try? registry.spec(queue: job.queue, task: job.task)
                let delay = (spec ?? TaskSpec(name: job.task)).options.retryDelay(afterAttempt: job.attempts)
                if let retry = try await store.retry(jobID: job.id, hostID: request.hostID, error: error, runAt: now.addingTimeInterval(delay)) {
                    retried.append(retry)
                    metrics.retried(retry)
                    logger.info(
                        "job failed, will try again",
                        metadata: [
                            "job_id": "\(job.id)", "task": "\(job.task)", "attempt": "\(job.attempts)",
                            "next_try_in": "\(String(format: "%.2f", delay)) s", "error": "\(error)",
                        ])
                    continue
                }
            }
            finals.append(report)
        }
        let finished = try await store.finish(finals, hostID: request.hostID, now: now)
        metrics.finished(finished)
        for job in finished { notifier.jobFinished(job.id) }
        try await followUp(finished)
        let accepted = Set(finished.map(\.id) + retried.map(\.id))
        let rejected = request.reports.map(\.jobID).filter { !accepted.contains($0) }
        return ReportResponse(accepted: accepted.count, rejected: rejected)
    }

    /// A host is leaving: it stops being offered work, and jobs still leased to it (claimed by a
    /// poll it abandoned) go back to the queue at once rather than when their lease runs out.
    public func unregister(hostID: String) async throws -> [Job] {
        guard registry.host(id: hostID) != nil else {
            throw EasyJobsError(.hostNotFound, "unknown host '\(hostID)'", context: ["host_id": hostID])
        }
        registry.markLeaving(hostID: hostID)
        let released = try await store.release(hostID: hostID, jobIDs: nil, refundAttempt: false)
        for queue in Set(released.map(\.queue)) { notifier.workArrived(in: queue) }
        logger.info("host left", metadata: ["host_id": "\(hostID)", "released_jobs": "\(released.count)"])
        return released
    }

    public func heartbeat(_ request: HeartbeatRequest) async throws -> HeartbeatResponse {
        let now = Date()
        guard try await store.touchHost(id: request.hostID, at: now) else {
            throw EasyJobsError(.hostNotFound, "unknown host '\(request.hostID)': register first", context: ["host_id": request.hostID])
        }
        registry.touch(hostID: request.hostID, at: now)
        let renewed = request.running.isEmpty
            ? [] : try await store.renewLeases(hostID: request.hostID, jobIDs: request.running, until: now.addingTimeInterval(options.leaseSeconds))
        let held = Set(renewed)
        return HeartbeatResponse(renewed: renewed, lost: request.running.filter { !held.contains($0) })
    }

    /// Queues waiting jobs whose dependencies all completed; repairs what a crash between a
    /// dependency's report and its parent's release left behind.
    public func releaseReadyJobs() async throws {
        let released = try await store.releaseReady(jobID: nil)
        for queue in Set(released.map(\.queue)) { notifier.workArrived(in: queue) }
    }

    // MARK: Cancellation, children, logs

    /// Cancels a job. A queued or waiting job ends at once; a running one is stopped by its host,
    /// which the host hears through its events poll.
    public func cancel(id: String) async throws -> Job {
        guard let job = try await store.cancel(jobID: id, now: .now) else {
            throw EasyJobsError(.jobNotFound, "no job with request id '\(id)'", context: ["request_id": id])
        }
        if job.status == .cancelled && job.cancelRequested == false {
            metrics.finished([job])
            notifier.jobFinished(job.id)
            try await followUp([job])
        } else if job.status == .running, let host = job.hostID {
            notifier.workArrived(in: Self.eventsKey(host))
        }
        logger.info("cancellation asked", metadata: ["job_id": "\(id)", "status": "\(job.status.rawValue)"])
        return job
    }

    /// Waits up to `wait` seconds for something to ask of the host: jobs to cancel that it has not seen.
    public func events(_ request: EventsRequest, isClientConnected: @Sendable () -> Bool = { true }) async throws -> EventsResponse {
        guard registry.host(id: request.hostID) != nil else {
            throw EasyJobsError(.hostNotFound, "unknown host '\(request.hostID)': register first", context: ["host_id": request.hostID])
        }
        let seen = Set(request.seen)
        let key = Self.eventsKey(request.hostID)
        let deadline = ContinuousClock.now + .milliseconds(Int(min(max(request.wait, 0), options.maxWait) * 1000))
        while true {
            let version = notifier.version(of: key)
            let cancel = try await store.cancelRequested(hostID: request.hostID).filter { !seen.contains($0) }
            let remaining = deadline - .now
            if !cancel.isEmpty || remaining <= .zero || !Self.shouldWait(isClientConnected) {
                return EventsResponse(cancel: cancel)
            }
            await cancelWhenGracefulShutdown {
                await notifier.waitForWork(in: key, after: version, timeout: min(remaining, Self.waitSlice))
            }
        }
    }

    static func eventsKey(_ hostID: String) -> String { "host-events:\(hostID)" }

    /// A subprocess child reports its job with the job's token.
    public func childReport(_ report: ChildReport, token: String?) async throws {
        guard let token, let attempt = tokens.verify(token, jobID: report.jobID) else {
            throw EasyJobsError(.forbidden, "the job token is missing or not valid for job '\(report.jobID)'", context: ["request_id": report.jobID])
        }
        guard let job = try await store.job(id: report.jobID), job.status == .running, job.attempts == attempt, let host = job.hostID else {
            throw EasyJobsError(
                .forbidden, "the job token of job '\(report.jobID)' is no longer valid: that run has ended",
                context: ["request_id": report.jobID])
        }
        let response = try await self.report(
            ReportRequest(hostID: host, reports: [JobReport(jobID: job.id, outcome: report.outcome, plugin: report.plugin)]))
        guard response.rejected.isEmpty else {
            throw EasyJobsError(.forbidden, "the run of job '\(report.jobID)' has ended", context: ["request_id": report.jobID])
        }
    }

    /// Runs a finished job again as a new job with the same task and arguments.
    public func retry(id: String) async throws -> Job {
        let job = try await self.job(id: id)
        guard job.status == .failed || job.status == .cancelled else {
            throw EasyJobsError(.invalidArguments, "job '\(id)' is \(job.status.rawValue); only failed or cancelled jobs are retried", context: ["request_id": id])
        }
        return try await enqueue(queue: job.queue, task: job.task, arguments: .object(job.args), queueAnyway: true)
    }

    /// Deletes a finished job (a dead job an operator has seen).
    public func discard(id: String) async throws {
        guard try await store.discard(jobID: id) else {
            let job = try await self.job(id: id)
            throw EasyJobsError(.invalidArguments, "job '\(id)' is \(job.status.rawValue); only finished jobs are discarded", context: ["request_id": id])
        }
    }

    /// Stores lines of running jobs' logs sent by their host.
    public func appendLogs(_ request: LogsRequest) async throws {
        guard registry.host(id: request.hostID) != nil else {
            throw EasyJobsError(.hostNotFound, "unknown host '\(request.hostID)': register first", context: ["host_id": request.hostID])
        }
        try await store.appendLogs(request.lines)
    }

    /// Hands jobs whose lease ran out back to their queues.
    public func requeueExpired() async throws -> [Job] {
        let jobs = try await store.requeueExpired(now: .now)
        for queue in Set(jobs.map(\.queue)) { notifier.workArrived(in: queue) }
        let cancelled = jobs.filter { $0.status == .cancelled }
        metrics.finished(cancelled)
        for job in cancelled { notifier.jobFinished(job.id) }
        try await followUp(cancelled)
        for job in jobs {
            logger.warning(
                "lease ran out: job handed back to the queue",
                metadata: ["job_id": "\(job.id)", "task": "\(job.task)", "attempts": "\(job.attempts)"])
        }
        return jobs
    }

    /// The problems found in the pipelines of the host's tasks, as `task: problem` lines.
    public func problems(of host: HostRecord) -> [String] {
        let problems = registry.problems(queue: host.queue)
        let names = Set(host.plugins.flatMap { $0.tasks.map(\.name) })
        return problems.keys.sorted().filter(names.contains).flatMap { task in problems[task]!.map { "\(task): \($0)" } }
    }

    public func isServed(queue: String, task: String) -> Bool {
        registry.isServed(queue: queue, task: task, onlineSince: Date().addingTimeInterval(-options.leaseSeconds * 2))
    }

    /// Puts back jobs a host claimed but will not run: no plugin of it serves them any more.
    public func release(_ request: ReleaseRequest) async throws -> [Job] {
        let released = try await store.release(hostID: request.hostID, jobIDs: request.jobIDs, refundAttempt: true)
        for queue in Set(released.map(\.queue)) { notifier.workArrived(in: queue) }
        return released
    }

    /// The Prometheus text of every metric, with the gauges brought up to date.
    public func scrapeMetrics() async throws -> [UInt8] {
        for queue in registry.queues.keys {
            let counts = try await store.counts(queue: queue)
            metrics.gauge("easyjobs_queue_depth", [("queue", queue)], Double(counts[.queued] ?? 0))
            metrics.gauge("easyjobs_jobs_running", [("queue", queue)], Double(counts[.running] ?? 0))
            metrics.gauge("easyjobs_jobs_waiting", [("queue", queue)], Double(counts[.waiting] ?? 0))
        }
        let now = Date()
        let hosts = registry.hosts
        metrics.gauge("easyjobs_hosts_online", [], Double(hosts.filter { isOnline($0, now: now) && !registry.isLeaving(hostID: $0.id) }.count))
        metrics.gauge("easyjobs_plugins_refused", [], Double(hosts.filter { isOnline($0, now: now) }.reduce(0) { $0 + $1.refused.count }))
        return metrics.registry.emitToBuffer()
    }

    /// A host is online while it heartbeats within two lease periods.
    public func isOnline(_ host: HostRecord, now: Date = .now) -> Bool {
        now.timeIntervalSince(host.lastSeen) < options.leaseSeconds * 2
    }
}
