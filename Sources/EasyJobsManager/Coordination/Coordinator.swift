import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging
import ServiceLifecycle

/// The manager's logic, apart from HTTP: checks and stores jobs, hands them to hosts and
/// records how they ended.
public struct Coordinator: Sendable {
    public let store: any ManagerStore
    public let registry: TaskRegistry
    public let notifier: JobNotifier
    public let options: ManagerOptions
    let logger: Logger
    let batcher: EnqueueBatcher
    let tokens: JobTokens
    public let pauses: PauseState
    public let metrics: ManagerMetrics

    public init(
        store: any ManagerStore, registry: TaskRegistry, notifier: JobNotifier = JobNotifier(), tokens: JobTokens,
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

    public func job(id: String) async throws -> Job {
        guard let job = try await store.job(id: id) else {
            throw EasyJobsError(.jobNotFound, "no job with request id '\(id)'", context: ["request_id": id])
        }
        return job
    }

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

    // MARK: Hosts

    /// Registers a host, checked against ``RegistrationCheck`` before anything is stored. A host
    /// registering again presents its session (`presented`) and keeps it; an id that belongs to
    /// another host that is online is refused.
    public func register(_ registration: HostRegistration, session presented: String?) async throws -> HostRegistrationResponse {
        try RegistrationCheck.validate(registration)
        let now = Date()
        if registry.host(id: registration.hostID) == nil { _ = try await learnHost(id: registration.hostID) }
        let known = registry.host(id: registration.hostID)
        let token: String
        if let known, let presented, HostSessions.matches(presented, sessionHash: known.sessionHash) {
            token = presented
        } else {
            // Another process may take over the id of a host that went away, never of one that is online.
            if let known, known.sessionHash != nil, isOnline(known, now: now), !registry.isLeaving(hostID: known.id) {
                throw EasyJobsError(
                    .hostIDInUse,
                    "host id '\(registration.hostID)' belongs to a host that is online; a host registers again with its session token in \(HostSessions.header)",
                    context: ["host_id": registration.hostID])
            }
            token = HostSessions.issue(hostID: registration.hostID)
        }
        let record = HostRecord(
            id: registration.hostID, name: registration.name, queue: registration.queue, maxTasks: registration.maxTasks,
            plugins: registration.plugins, refused: registration.refused, registeredAt: now, lastSeen: now,
            sessionHash: HostSessions.hash(token))
        try await store.saveHost(record)
        metrics.registered(registration)
        let knownProblems = known.map { Set(problems(of: $0)) } ?? []
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
        for problem in problems(of: record) where !knownProblems.contains(problem) {
            logger.warning("pipeline problem: \(problem)", metadata: ["host": "\(registration.name)", "queue": "\(registration.queue)"])
        }
        // A host may have been waiting for its tasks' queue to exist.
        notifier.workArrived(in: registration.queue)
        return HostRegistrationResponse(
            leaseSeconds: options.leaseSeconds, heartbeatSeconds: max(options.leaseSeconds / 3, 0.2), session: token)
    }

    /// The host a session token belongs to. A host told `session_invalid` registers again.
    public func authenticate(session token: String?) async throws -> String {
        if let hostID = try? authenticateFromCopy(session: token) { return hostID }
        // The host may have registered with another manager of the same store since this one
        // last looked: look once in the store before refusing.
        if let hostID = token.flatMap(HostSessions.hostID(of:)) { _ = try await learnHost(id: hostID) }
        return try authenticateFromCopy(session: token)
    }

    private func authenticateFromCopy(session token: String?) throws(EasyJobsError) -> String {
        guard let token, !token.isEmpty else {
            throw EasyJobsError(
                .unauthorized, "host endpoints need the session token that POST /hosts/register returned, in \(HostSessions.header)")
        }
        guard let hostID = HostSessions.hostID(of: token) else {
            throw EasyJobsError(.sessionInvalid, "the session token is not one this manager issued: register again")
        }
        guard let host = registry.host(id: hostID), HostSessions.matches(token, sessionHash: host.sessionHash) else {
            throw EasyJobsError(
                .sessionInvalid, "the session of host '\(hostID)' is not current: register again", context: ["host_id": hostID])
        }
        return hostID
    }

    /// Most jobs one claim hands out. Every claim and every report is a write transaction whose
    /// fixed cost (the WAL pages it writes) is shared by its jobs, so a host with room for many
    /// short jobs takes them in few large claims; the limit keeps one answer's size bounded.
    static let maxClaim = 1_024

    /// Claims up to `max` jobs for the host, waiting up to `wait` seconds for one to arrive.
    /// Jobs are never claimed for a client that is gone: it would hold them for a whole lease.
    public func claim(_ request: ClaimRequest, isClientConnected: @escaping @Sendable () -> Bool = { true }) async throws -> [ClaimedJob] {
        guard let host = registry.host(id: request.hostID), !registry.isLeaving(hostID: host.id) else {
            throw EasyJobsError(.hostNotFound, "unknown host '\(request.hostID)': register first", context: ["host_id": request.hostID])
        }
        let limit = min(max(request.max, 1), Self.maxClaim)
        let queue = host.queue
        let poll = LongPoll(wait: request.wait, maxWait: options.maxWait, isClientConnected: isClientConnected)
        let claimed = try await poll.run(version: { notifier.version(of: queue) }) { isLast -> [ClaimedJob]? in
            if registry.isLeaving(hostID: host.id) { return [] }
            // Read each round: a host that reloaded a plugin re-registers while its poll waits.
            let current = registry.host(id: host.id) ?? host
            // A poll from before the host's latest registration belongs to a process that may be
            // gone (a recycled host's old connection): it claims nothing more.
            if current.registeredAt != host.registeredAt { return [] }
            // A paused host or queue claims nothing; it waits here until resumed or the poll ends.
            // Neither does a host that stopped heartbeating: a killed host's long poll can outlive it
            // on the manager (its connection is not read, so its close goes unseen) and would take
            // jobs for a dead process, to be lost again with the lease.
            var heard = Date().timeIntervalSince(current.lastSeen) < options.leaseSeconds
            // Its heartbeats may go to another manager of the store: ask the store before deciding.
            if !heard, try await learnHost(id: host.id), let seen = registry.host(id: host.id)?.lastSeen {
                heard = Date().timeIntervalSince(seen) < options.leaseSeconds
            }
            let tasks: Set<String> =
                !heard || pauses.isPaused(host: current.name, queue: current.queue) ? [] : Set(current.plugins.flatMap { $0.tasks.map(\.name) })
            let jobs = try await store.claim(
                queue: host.queue, tasks: tasks, hostID: host.id, limit: limit, leaseDuration: options.leaseSeconds, now: .now)
            if !jobs.isEmpty || isLast {
                metrics.started(jobs)
                let waited = jobs.filter { $0.dependencies > 0 }.map(\.id)
                let dependencies = waited.isEmpty ? [:] : try await store.dependencyResults(of: waited)
                for job in jobs where job.attempts > 1 {
                    logger.info(
                        "retrying job", metadata: ["job_id": "\(job.id)", "task": "\(job.task)", "attempt": "\(job.attempts)", "queue": "\(queue)"])
                }
                return jobs.map { job in
                    let subprocess = (try? registry.spec(queue: queue, task: job.task))?.options.subprocess ?? false
                    return ClaimedJob(
                        jobID: job.id, task: job.task, args: job.args, attempt: job.attempts, lease: job.lease,
                        leaseExpiresAt: job.leaseExpiresAt ?? .now, dependencies: dependencies[job.id] ?? [:],
                        token: subprocess ? tokens.token(jobID: job.id, lease: job.lease) : nil)
                }
            }
            return nil
        } wait: { [notifier] version, timeout in
            await notifier.waitForWork(in: queue, after: version, timeout: timeout)
        }
        return claimed ?? []
    }

    /// Records how runs ended. Each report counts only under the lease it names; a failure with
    /// a try left is queued again; what an end causes commits with it.
    public func report(_ request: ReportRequest) async throws -> ReportResponse {
        // A result the store could not read back would strand whatever lists it.
        let reports = request.reports.map { report -> JobReport in
            guard case .completed(let result) = report.outcome, JSONNesting.depth(of: result) > JSONNesting.maximumDepth else { return report }
            var refused = report
            refused.outcome = .failed("the task's result nests JSON deeper than \(JSONNesting.maximumDepth) levels")
            return refused
        }
        let transitions = try await store.finish(reports, hostID: request.hostID, now: .now, rules: self)
        apply(transitions)
        return ReportResponse(accepted: request.reports.count - transitions.rejected.count, rejected: transitions.rejected)
    }

    /// Tells waiting clients, hosts and metrics what a store operation did.
    func apply(_ transitions: JobTransitions, now: Date = .now) {
        metrics.finished(transitions.finished)
        metrics.enqueued(transitions.created)
        for job in transitions.retried {
            metrics.retried(job)
            logger.info(
                "job failed, will try again",
                metadata: [
                    "job_id": "\(job.id)", "task": "\(job.task)", "attempt": "\(job.attempts)",
                    "next_try_in": "\(String(format: "%.2f", max(0, (job.runAt ?? now).timeIntervalSince(now)))) s", "error": "\(job.error ?? "")",
                ])
        }
        for job in transitions.finished { notifier.jobFinished(job.id) }
        for queue in transitions.queuesWithNewWork { notifier.workArrived(in: queue) }
    }

    /// A host is leaving: it stops being offered work, and jobs still leased to it (claimed by a
    /// poll it abandoned) go back to the queue at once rather than when their lease runs out.
    public func unregister(hostID: String) async throws -> [Job] {
        guard registry.host(id: hostID) != nil else {
            throw EasyJobsError(.hostNotFound, "unknown host '\(hostID)'", context: ["host_id": hostID])
        }
        registry.markLeaving(hostID: hostID)
        // A graceful stop hands back what it did not finish: not the jobs' fault, so the tries are refunded.
        let released = try await store.release(hostID: hostID, jobs: nil)
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
        let renewed =
            request.running.isEmpty
            ? [] : try await store.renewLeases(hostID: request.hostID, jobs: request.running, until: now.addingTimeInterval(options.leaseSeconds))
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

    /// Waits up to `wait` seconds for something to ask of the host: jobs to cancel that it has not seen.
    public func events(_ request: EventsRequest, isClientConnected: @escaping @Sendable () -> Bool = { true }) async throws -> EventsResponse {
        guard registry.host(id: request.hostID) != nil else {
            throw EasyJobsError(.hostNotFound, "unknown host '\(request.hostID)': register first", context: ["host_id": request.hostID])
        }
        let seen = Set(request.seen)
        let key = Self.eventsKey(request.hostID)
        let poll = LongPoll(wait: request.wait, maxWait: options.maxWait, isClientConnected: isClientConnected)
        let events = try await poll.run(version: { notifier.version(of: key) }) { isLast -> EventsResponse? in
            let cancel = try await store.cancelRequested(hostID: request.hostID).filter { !seen.contains($0) }
            return !cancel.isEmpty || isLast ? EventsResponse(cancel: cancel) : nil
        } wait: { [notifier] version, timeout in
            await notifier.waitForWork(in: key, after: version, timeout: timeout)
        }
        return events ?? EventsResponse(cancel: [])
    }

    static func eventsKey(_ hostID: String) -> String { "host-events:\(hostID)" }

    /// The run a subprocess child's token is for; checked before its report's body is read.
    public func verifyJobToken(_ token: String?) throws(EasyJobsError) -> LeasedJob {
        guard let token, let run = tokens.verify(token) else {
            throw EasyJobsError(.forbidden, "the job token is missing or not valid")
        }
        return run
    }

    /// A subprocess child reports the run its token is for.
    public func childReport(_ report: ChildReport, run: LeasedJob) async throws {
        guard report.jobID == run.jobID else {
            throw EasyJobsError(
                .forbidden, "the job token is for job '\(run.jobID)', not '\(report.jobID)'", context: ["request_id": report.jobID])
        }
        guard let job = try await store.job(id: report.jobID), job.status == .running, job.lease == run.lease, let host = job.hostID else {
            throw EasyJobsError(
                .forbidden, "the job token of job '\(report.jobID)' is no longer valid: that run has ended",
                context: ["request_id": report.jobID])
        }
        let response = try await self.report(
            ReportRequest(hostID: host, reports: [JobReport(jobID: job.id, lease: run.lease, outcome: report.outcome, plugin: report.plugin)]))
        guard response.rejected.isEmpty else {
            throw EasyJobsError(.forbidden, "the run of job '\(report.jobID)' has ended", context: ["request_id": report.jobID])
        }
    }

    /// Runs a finished job again as a new job with the same task and arguments.
    public func retry(id: String) async throws -> Job {
        let job = try await self.job(id: id)
        guard job.status == .failed || job.status == .cancelled else {
            throw EasyJobsError(
                .jobStateConflict, "job '\(id)' is \(job.status.rawValue); only failed or cancelled jobs are retried",
                context: ["request_id": id, "status": job.status.rawValue])
        }
        return try await enqueue(queue: job.queue, task: job.task, arguments: .object(job.args), queueAnyway: true)
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

    /// Stores lines of running jobs' logs sent by their host.
    public func appendLogs(_ request: LogsRequest) async throws {
        guard registry.host(id: request.hostID) != nil else {
            throw EasyJobsError(.hostNotFound, "unknown host '\(request.hostID)': register first", context: ["host_id": request.hostID])
        }
        try await store.appendLogs(request.lines, maxLinesPerJob: options.maxLogLinesPerJob)
    }

    /// Ends the leases that ran out: each job is tried again per its policy, or fails for good
    /// ("host died while running it (N times)").
    public func requeueExpired() async throws -> JobTransitions {
        let transitions = try await store.requeueExpired(now: .now, rules: self)
        apply(transitions)
        for job in transitions.retried {
            logger.warning(
                "lease ran out: job handed back to the queue",
                metadata: ["job_id": "\(job.id)", "task": "\(job.task)", "attempts": "\(job.attempts)", "lost_leases": "\(job.lostLeases)"])
        }
        for job in transitions.finished where job.lostLeases > 0 && job.status == .failed {
            logger.error("job failed for good: \(job.error ?? "")", metadata: ["job_id": "\(job.id)", "task": "\(job.task)"])
        }
        return transitions
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
        let released = try await store.release(hostID: request.hostID, jobs: request.all ? nil : request.jobs)
        for queue in Set(released.map(\.queue)) { notifier.workArrived(in: queue) }
        if !released.isEmpty {
            logger.info("jobs handed back by their host", metadata: ["host_id": "\(request.hostID)", "count": "\(released.count)"])
        }
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
