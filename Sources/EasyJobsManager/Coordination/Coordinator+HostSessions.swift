import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging
import ServiceLifecycle

/// The host protocol: registration and sessions, claims, reports (a host's and a subprocess
/// child's), heartbeats, the events poll, logs and hand-backs, and the leases of hosts that went
/// quiet.
extension Coordinator {
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
                    "host id '\(registration.hostID)' belongs to a host that is online; a host registers again with its session token in \(WireContract.Header.session)",
                    context: ["host_id": registration.hostID])
            }
            token = HostSessions.issue(hostID: registration.hostID)
        }
        let record = HostRecord(
            id: registration.hostID, name: registration.name, queue: registration.queue, queues: registration.queues,
            maxTasks: registration.maxTasks,
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
                "host": "\(registration.name)", "queues": "\(registration.queues.map(\.description).joined(separator: ","))",
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
        for queue in registration.queues { notifier.workArrived(in: queue.name) }
        return HostRegistrationResponse(
            leaseSeconds: options.lease.inSeconds, heartbeatSeconds: max(options.lease.inSeconds / 3, 0.2), session: token)
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
                .unauthorized, "host endpoints need the session token that POST /hosts/register returned, in \(WireContract.Header.session)")
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
        let queueNames = host.queues.map(\.name)
        let poll = LongPoll(wait: request.wait, maxWait: options.maxWait, isClientConnected: isClientConnected)
        let claimed = try await poll.run(version: { notifier.version(of: queueNames) }) { isLast -> [ClaimedJob]? in
            // A host that is leaving or registered again since its poll began ends the poll at once.
            guard let jobs = try await claimRound(for: host, limit: limit) else { return [] }
            return !jobs.isEmpty || isLast ? jobs : nil
        } wait: { [notifier] version, timeout in
            await notifier.waitForWork(in: queueNames, after: version, timeout: timeout)
        }
        return claimed ?? []
    }

    /// One look for work for a host, as a claim makes it: each of the host's open queues its
    /// share of `limit` (``QueueTurns``), what a queue short of work left to the others. Claims
    /// nothing for a host that is paused or not heard from within a lease; `nil` for one that
    /// is leaving or registered again since `host` was read, whose poll is over.
    func claimRound(for host: HostRecord, limit: Int) async throws -> [ClaimedJob]? {
        guard let round = try await planClaimRound(for: host, limit: limit) else { return nil }
        var taken: [[ClaimedRun]] = []
        for part in round.parts {
            taken.append(
                try await store.claim(
                    queue: part.queue, tasks: part.tasks, hostID: host.id, limit: part.limit, leaseDuration: options.lease.inSeconds, now: .now,
                    limits: part.limits))
        }
        return try await completeClaimRound(round, taken: taken)
    }

    /// What a round of claims for a host asks of the store, decided before it is asked (a
    /// report that claims hands it to the store with its ends).
    struct ClaimRound {
        var hostID: String
        /// The host's name now, under which it may be paused.
        var hostName: String
        var limit: Int
        /// The host's open queues, in its registration's order.
        var open: [String]
        var tasks: Set<String>
        /// Each planned queue's part, in the plan's order.
        var parts: [QueueClaim]
        /// Records the queues' turns once the round took something.
        var commit: @Sendable () -> Void
    }

    /// The plan of a round (see ``claimRound(for:limit:)``); `nil` when the host's poll is over.
    func planClaimRound(for host: HostRecord, limit: Int) async throws -> ClaimRound? {
        if registry.isLeaving(hostID: host.id) { return nil }
        // Read each round: a host that reloaded a plugin re-registers while its poll waits.
        let current = registry.host(id: host.id) ?? host
        // A poll from before the host's latest registration belongs to a process that may be
        // gone (a recycled host's old connection): it claims nothing more.
        if current.registeredAt != host.registeredAt { return nil }
        // Neither does a host that stopped heartbeating: a killed host's long poll can outlive
        // it on the manager (its connection is not read, so its close goes unseen) and would
        // take jobs for a dead process, to be lost again with the lease.
        var heard = Date().timeIntervalSince(current.lastSeen) < options.lease.inSeconds
        // Its heartbeats may go to another manager of the store: ask the store before deciding.
        if !heard, try await learnHost(id: host.id), let seen = registry.host(id: host.id)?.lastSeen {
            heard = Date().timeIntervalSince(seen) < options.lease.inSeconds
        }
        // A paused host or queue claims nothing; its poll waits until resumed or the poll ends.
        let open = heard ? current.queues.filter { !pauses.isPaused(host: current.name, queue: $0.name) } : []
        let tasks = Set(current.plugins.flatMap { $0.tasks.map(\.name) })
        let (plan, commit) = queueTurns.plan(hostID: host.id, slots: limit, over: open)
        return ClaimRound(
            hostID: host.id, hostName: current.name, limit: limit, open: open.map(\.name), tasks: tasks,
            parts: plan.map { QueueClaim(queue: $0.queue, tasks: tasks, limit: $0.count, limits: claimLimits(queue: $0.queue, tasks: tasks)) },
            commit: commit)
    }

    /// Ends a round with what the store took for its parts (`taken`, in their order): a queue
    /// short of work leaves its share to the others; then the claims answer as the host reads them.
    func completeClaimRound(_ round: ClaimRound, taken: [[ClaimedRun]]) async throws -> [ClaimedJob] {
        let hostID = round.hostID
        var jobs = Array(taken.joined())
        // Each queue its share; then what a queue short of work left goes to those that had more.
        let short = Set(zip(round.parts, taken).filter { $0.1.count < $0.0.limit }.map(\.0.queue))
        if !short.isEmpty {
            // Queues whose turn did not come in this plan (one slot, several queues) come last.
            let planned = round.parts.map(\.queue)
            let others = round.open.filter { !planned.contains($0) }
            for queue in planned + others where jobs.count < round.limit && !short.contains(queue) {
                jobs += try await claim(queue: queue, tasks: round.tasks, hostID: hostID, limit: round.limit - jobs.count)
            }
        }
        // A pause that came while the store claimed is a barrier all the same: a job enqueued
        // after it, which the claim's statement saw, goes back (the try refunded) and waits.
        let paused = jobs.filter { pauses.isPaused(host: round.hostName, queue: $0.queue) }
        if !paused.isEmpty {
            _ = try await store.release(hostID: hostID, jobs: paused.map(\.leased))
            let returned = Set(paused.map(\.id))
            jobs.removeAll { returned.contains($0.id) }
        }
        guard !jobs.isEmpty else { return [] }
        round.commit()
        metrics.started(jobs)
        let waited = jobs.filter { $0.dependencies > 0 }.map(\.id)
        let dependencies = waited.isEmpty ? [:] : try await store.dependencyResults(of: waited)
        for job in jobs where job.attempts > 1 {
            logger.info(
                "retrying job", metadata: ["job_id": "\(job.id)", "task": "\(job.task)", "attempt": "\(job.attempts)", "queue": "\(job.queue)"])
        }
        return jobs.map { job in
            let subprocess = (try? registry.spec(queue: job.queue, task: job.task))?.options.subprocess ?? false
            return ClaimedJob(
                jobID: job.id, queue: job.queue, task: job.task, args: job.args, attempt: job.attempts, lease: job.lease,
                leaseExpiresAt: job.leaseExpiresAt, dependencies: dependencies[job.id] ?? [:],
                token: subprocess ? tokens.token(jobID: job.id, lease: job.lease) : nil)
        }
    }

    /// The caps and rate limits of `tasks` in `queue`, as their specs declare them.
    private func claimLimits(queue: String, tasks: Set<String>) -> [String: TaskClaimLimit] {
        // One read of the registry for all of a round's tasks: a claim comes with every report.
        let specs = registry.specs(queue: queue)
        var limits: [String: TaskClaimLimit] = [:]
        for task in tasks {
            if let spec = specs[task], let limit = TaskClaimLimit(spec.options) { limits[task] = limit }
        }
        return limits
    }

    /// Claims up to `limit` of `tasks`' jobs of one queue, under the caps and rate limits its
    /// tasks declare (they count over every host: the store applies them).
    private func claim(queue: String, tasks: Set<String>, hostID: String, limit: Int) async throws -> [ClaimedRun] {
        try await store.claim(
            queue: queue, tasks: tasks, hostID: hostID, limit: limit, leaseDuration: options.lease.inSeconds, now: .now,
            limits: claimLimits(queue: queue, tasks: tasks))
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
        // The claims go into the transaction that stores the ends: a chain's next step is the
        // reporting host's before any other claim can see it, with one commit for both.
        var round: ClaimRound?
        if request.claim > 0, let host = registry.host(id: request.hostID) {
            round = try await planClaimRound(for: host, limit: min(request.claim, Self.maxClaim))
        }
        let (transitions, taken) = try await store.finish(
            reports, hostID: request.hostID, now: .now, rules: self, thenClaim: round?.parts ?? [], leaseDuration: options.lease.inSeconds)
        var claimed: [ClaimedJob] = []
        if let round {
            do {
                claimed = try await completeClaimRound(round, taken: taken)
                metrics.claimedWithReport(claimed)
            } catch {
                // The ends are stored; the jobs it took go back to the queue for the next claim.
                logger.warning("could not hand out the jobs claimed with a report: \(error)", metadata: ["host_id": "\(request.hostID)"])
                let leased = taken.joined().map(\.leased)
                _ = try? await store.release(hostID: request.hostID, jobs: leased)
            }
        }
        // What the report claimed wakes no poll: the host's own would only find it gone.
        apply(transitions, taken: Set(claimed.map(\.jobID)))
        return ReportResponse(accepted: request.reports.count - transitions.rejected.count, rejected: transitions.rejected, jobs: claimed)
    }

    /// Tells waiting clients, hosts and metrics what a store operation did; new work in `taken`
    /// (jobs claimed already) wakes no poll.
    func apply(_ transitions: JobTransitions, taken: Set<String> = [], now: Date = .now) {
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
        var queues = transitions.queuesWithNewWork(except: taken)
        // A run of a capped task that ended frees a place: claims held back at the cap look again.
        for job in transitions.finished + transitions.retried where job.startedAt != nil {
            if (try? registry.spec(queue: job.queue, task: job.task))?.options.concurrency != nil { queues.insert(job.queue) }
        }
        for queue in queues { notifier.workArrived(in: queue) }
    }

    /// A host is leaving: it stops being offered work, and jobs still leased to it (claimed by a
    /// poll it abandoned) go back to the queue at once rather than when their lease runs out.
    public func unregister(hostID: String) async throws -> [Job] {
        guard registry.host(id: hostID) != nil else {
            throw EasyJobsError(.hostNotFound, "unknown host '\(hostID)'", context: ["host_id": hostID])
        }
        registry.markLeaving(hostID: hostID)
        queueTurns.forget(hostID: hostID)
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
            ? [] : try await store.renewLeases(hostID: request.hostID, jobs: request.running, until: now.addingTimeInterval(options.lease.inSeconds))
        let held = Set(renewed)
        return HeartbeatResponse(renewed: renewed, lost: request.running.filter { !held.contains($0) })
    }

    /// Queues waiting jobs whose dependencies all completed; repairs what a crash between a
    /// dependency's report and its parent's release left behind.
    public func releaseReadyJobs() async throws {
        let released = try await store.releaseReady(jobID: nil)
        for queue in Set(released.map(\.queue)) { notifier.workArrived(in: queue) }
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

    /// A subprocess child reports the run its token is for, in a job report as a host sends it.
    public func childReport(_ report: JobReport, run: LeasedJob) async throws {
        let host = try await hostOfRun(jobID: report.jobID, lease: report.lease, token: run)
        let response = try await self.report(ReportRequest(hostID: host, reports: [report]))
        guard response.rejected.isEmpty else {
            throw EasyJobsError(.forbidden, "the run of job '\(report.jobID)' has ended", context: ["request_id": report.jobID])
        }
    }

    /// A subprocess child's progress, for the run its token is for, recorded as its host's.
    public func childProgress(_ progress: ChildProgress, run: LeasedJob) async throws {
        var recorded = progress
        recorded.hostID = try await hostOfRun(jobID: progress.jobID, lease: progress.lease, token: run)
        try await recordProgress(recorded)
    }

    /// The host running the run a child's request names, once its token is for that run and
    /// the run still holds its lease: a child acts as its host, for its one run only.
    private func hostOfRun(jobID: String, lease: Int, token run: LeasedJob) async throws -> String {
        guard jobID == run.jobID, lease == run.lease else {
            throw EasyJobsError(
                .forbidden, "the job token is for job '\(run.jobID)' (lease \(run.lease)), not '\(jobID)' (lease \(lease))",
                context: ["request_id": jobID])
        }
        guard let job = try await store.job(id: jobID), job.status == .running, job.lease == run.lease, let host = job.hostID else {
            throw EasyJobsError(
                .forbidden, "the job token of job '\(jobID)' is no longer valid: that run has ended", context: ["request_id": jobID])
        }
        return host
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

    /// Puts back jobs a host claimed but will not run: no plugin of it serves them any more.
    public func release(_ request: ReleaseRequest) async throws -> [Job] {
        let released = try await store.release(hostID: request.hostID, jobs: request.all ? nil : request.jobs)
        for queue in Set(released.map(\.queue)) { notifier.workArrived(in: queue) }
        if !released.isEmpty {
            logger.info("jobs handed back by their host", metadata: ["host_id": "\(request.hostID)", "count": "\(released.count)"])
        }
        return released
    }
}
