import CEasyJobsABI
import EasyJobsClient
import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle
import Synchronization

/// Claims jobs for the host's free slots and runs each under its timeout, in the host or in a
/// subprocess child, until the host stops claiming; reports what each run ended with.
///
/// A class, not a struct: every run's task captures the runner, and copying a struct of the
/// host's options, client and context into each cost 6 % of a busy host's CPU time (measured:
/// 5.23 against 5.58 s for 101,000 batched jobs).
final class JobRunner: Sendable {
    let client: ManagerClient
    let hostID: String
    let options: HostOptions
    let context: RunContext
    let registrar: Registrar
    let recycler: Recycler

    init(client: ManagerClient, hostID: String, options: HostOptions, context: RunContext, registrar: Registrar, recycler: Recycler) {
        self.client = client
        self.hostID = hostID
        self.options = options
        self.context = context
        self.registrar = registrar
        self.recycler = recycler
    }

    /// Until the host stops claiming (graceful shutdown, a recycle); running jobs go on in `jobs`.
    ///
    /// Jobs come from the claim poll and from reports that claim the next jobs for the slots of
    /// the runs they report (``Reporter``); both reach this loop through ``JobHandoff``, which
    /// closes when the poll stops.
    func claim(into jobs: inout DiscardingTaskGroup) async {
        let handoff = context.handoff
        jobs.addTask { [self] in
            await poll()
            handoff.close()
        }
        for await batch in handoff.batches {
            await start(batch, in: &jobs)
        }
    }

    /// Long-polls for jobs for every free slot, until the host stops claiming.
    private func poll() async {
        let logger = context.logger
        let capacity = context.capacity
        var backoff = Backoff(initial: .milliseconds(50), maximum: options.maxReconnectDelay)
        while !Task.isCancelled && !Task.isShuttingDownGracefully && !recycler.isRequested {
            let free = await cancelWhenGracefulShutdown { await capacity.reserveAll() }
            guard free > 0 else { break }
            let claimed: [ClaimedJob]
            do {
                claimed = try await cancelWhenGracefulShutdown { [self] in
                    try await recycler.interruptible { [self] in
                        try await client.claim(ClaimRequest(hostID: hostID, max: free, wait: options.claimWait.inSeconds)).jobs
                    }
                }
                backoff.reset()
            } catch is CancellationError {
                capacity.release(free)
                break
            } catch let error as EasyJobsError where error.code == .hostNotFound || error.code == .sessionInvalid {
                capacity.release(free)
                logger.warning("the manager does not know this host's session any more; registering again")
                await registrar.register()
                continue
            } catch {
                capacity.release(free)
                if Task.isShuttingDownGracefully || recycler.isRequested { break }
                let delay = backoff.next()
                logger.warning("claim failed, retrying in \(delay.secondsText) s: \(error)")
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                continue
            }
            capacity.settle(reserved: free, filled: claimed.count)
            // Only this loop closes the handoff, after its last delivery.
            _ = context.handoff.deliver(claimed)
        }
    }

    /// Starts claimed jobs, whose slots are already taken from ``Capacity``.
    private func start(_ claimed: [ClaimedJob], in jobs: inout DiscardingTaskGroup) async {
        let logger = context.logger
        // A job for a task this host no longer serves (its plugin was just removed) goes back untouched.
        let unserved = claimed.filter { context.plugins.plugin(serving: $0.task) == nil }.map(\.leased)
        if !unserved.isEmpty {
            context.capacity.release(unserved.count)
            logger.info("handing back \(unserved.count) job(s) for tasks this host no longer serves")
            _ = try? await client.release(ReleaseRequest(hostID: hostID, jobs: unserved))
        }
        for job in claimed where !unserved.contains(job.leased) {
            // A long poll may hold a claim's answer for a while, so the lease is counted from the
            // manager's own expiry time (clocks agree within the margin), not from the request.
            let remaining = job.leaseExpiresAt.timeIntervalSinceNow
            let deadline = ContinuousClock.now + .seconds(max(remaining, 0)) - context.leaseMarginLoss
            // A stale run of the same job (its lease lapsed while this host was paused) stops now.
            for stale in context.running.runs(ofJob: job.jobID) where stale.lease != job.lease {
                context.running.stop(stale, reason: .leaseLost)
            }
            context.running.insert(job.leased, leaseDeadline: deadline)
            jobs.addTask { [self] in
                // A task of its own, so one job can be stopped without touching the others.
                let run = Task { [self] in await supervise(job) }
                context.running.attach(job.leased, task: run)
                let report = await withTaskCancellationHandler {
                    await run.value
                } onCancel: {
                    run.cancel()
                }
                context.running.remove(job.leased)
                // The run's slot goes with its report, to claim the job that follows it.
                if let report {
                    context.reporter.add(report)
                } else {
                    context.capacity.release()
                }
            }
        }
    }

    /// Runs a job under its timeout; returns its report, or `nil` when there is none to send
    /// (the job goes back to the queue, or a subprocess child reported it).
    private func supervise(_ job: ClaimedJob) async -> JobReport? {
        let plugin = context.plugins.plugin(serving: job.task)
        let timeout = plugin?.spec(of: job.task)?.options.timeout
        let watchdog = timeout.map { seconds in
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                if !Task.isCancelled { context.running.stop(job.leased, reason: .timedOut(seconds: seconds)) }
            }
        }
        let outcome = await execute(job, plugin: plugin)
        watchdog?.cancel()
        // A run that lost its lease reports nothing: the job is someone else's now.
        guard context.running.reason(job.leased) != .leaseLost, let outcome else { return nil }
        context.running.markReported(job.leased)
        return JobReport(jobID: job.jobID, lease: job.lease, outcome: outcome, plugin: plugin?.info.ref)
    }

    /// After the grace period of a graceful stop, stops what still runs; those jobs go back to the queue.
    func stopStragglers() async {
        let running = context.running
        let logger = context.logger
        let deadline = ContinuousClock.now + options.shutdownGrace
        while !running.isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if !running.isEmpty {
            logger.warning("grace period over: stopping \(running.count) job(s) and handing them back to the queue")
            running.stopAll(reason: .shutdown)
        }
    }

    /// Runs the job in the host or in a child process; returns the outcome to report, or `nil`
    /// when there is none to report (the child reported it, or the job goes back to the queue).
    private func execute(_ job: ClaimedJob, plugin: LoadedPlugin?) async -> JobOutcome? {
        let logger = JobLogHandler.logger(context.logger, jobID: job.jobID, task: job.task)
        guard let plugin, let spec = plugin.spec(of: job.task) else {
            return .failed("host \(options.name) has no plugin serving task '\(job.task)'")
        }
        // In sorted key order, as the JSON writer puts an object's members.
        var runContext: [(key: String, value: JSONValue)] = [("attempt", .int(job.attempt))]
        if !job.dependencies.isEmpty { runContext.append(("dependencies", .object(job.dependencies))) }
        runContext += [("job_id", .string(job.jobID)), ("queue", .string(job.queue ?? context.queue)), ("task", .string(job.task))]
        logger.debug("job started", metadata: ["attempt": "\(job.attempt)", "plugin": "\(plugin.info.name)@\(plugin.info.version)"])
        if spec.options.subprocess {
            let runner = SubprocessRunner(children: context.children, logger: logger)
            let outcome = await runner.run(
                job, plugin: plugin, spec: spec, context: .object(Dictionary(uniqueKeysWithValues: runContext.map { ($0.key, $0.value) })),
                stopReason: { [context] in context.running.reason(job.leased) },
                onLine: { [context] stream, line in context.shipper.append(jobID: job.jobID, stream: stream, line: line) })
            if case .failed(let message) = outcome { logger.info("job failed: \(message)") }
            return outcome
        }
        let invocation = TaskInvocation(
            jobID: job.jobID, arguments: JSONValue.object(job.args).encoded(), context: JSONValue.encodedObject(runContext),
            onLog: { [logger, context] line in
                Self.emit(line, logger: logger)
                // What a job prints belongs to its log wherever it runs, as a child's output does.
                if line.isOutput { context.shipper.append(jobID: job.jobID, stream: .stdout, line: line.message) }
            },
            onCall: { [self, logger] task, arguments in await call(task, arguments: arguments, from: job, logger: logger) },
            onRequest: { [self, logger] kind, body in await request(kind, body: body, from: job, logger: logger) })
        let outcome = await plugin.run(task: job.task, invocation: invocation)
        switch outcome {
        case .success(let bytes):
            let result: JSONValue
            do {
                result = try JSONValue.decode(bytes)
            } catch {
                return .failed("task '\(job.task)' returned a result the manager cannot take: \(error.message)")
            }
            logger.debug("job completed")
            return .completed(result)
        case .failure(let message, let type):
            logger.info("job failed: \(message)", metadata: ["error_type": "\(type)"])
            return .failed(message)
        case .cancelled(let message):
            // The run saw the cancellation; why it was asked for decides what it means.
            switch context.running.reason(job.leased) {
            case .timedOut(let seconds): return .failed("timed out after \(seconds.formatted) s")
            case .shutdown, .leaseLost: return nil
            default: return .cancelled("cancelled while running: \(message)")
            }
        }
    }

    /// Runs a task that a running job calls, as a job of its own, and waits for it. The caller's
    /// slot is free while it waits, so a host with one slot still runs what its job awaits.
    private func call(_ task: String, arguments: Data, from job: ClaimedJob, logger: Logger) async -> CallOutcome {
        context.capacity.release()
        // Taken back at once when the call returns: the caller resumes even if the host is full.
        defer { context.capacity.take(1) }
        let args: JSONValue
        do {
            args = try JSONValue.decode(arguments)
        } catch {
            return .failure("the arguments of the call to '\(task)' are not JSON: \(error.message)")
        }
        var backoff = Backoff(initial: .milliseconds(100), maximum: options.maxReconnectDelay)
        var calledID: String?
        while !Task.isCancelled {
            do {
                let id: String
                if let calledID {
                    id = calledID
                } else {
                    id = try await client.call(CallRequest(hostID: hostID, parentID: job.jobID, lease: job.lease, task: task, args: args))
                    calledID = id
                    logger.debug("called a task", metadata: ["called_task": "\(task)", "called_job": "\(id)"])
                }
                guard let finished = try await client.awaitJob(AwaitRequest(jobID: id, wait: 30)) else { continue }
                switch finished.status {
                case .completed:
                    return .success((finished.result ?? .null).encoded())
                default:
                    return .failure("task '\(task)' (job \(id)) failed: \(finished.error ?? "unknown error")")
                }
            } catch let error as EasyJobsError where error.code == .managerUnavailable {
                let delay = backoff.next()
                logger.warning("cannot reach the manager while calling '\(task)', retrying in \(delay.secondsText) s")
                try? await Task.sleep(for: delay)
            } catch {
                return .failure("cannot call task '\(task)': \((error as? EasyJobsError)?.message ?? "\(error)")")
            }
        }
        return .failure("the call to '\(task)' was cancelled")
    }

    /// Answers a running job's request (ABI 1.2): `enqueue` makes a job of its queue through the
    /// manager and answers its request id without waiting for it.
    private func request(_ kind: String, body: Data, from job: ClaimedJob, logger: Logger) async -> CallOutcome {
        if kind == "progress" { return await progress(body: body, from: job, logger: logger) }
        guard kind == "enqueue" else {
            return .failure("this host does not answer '\(kind)' requests (it knows: enqueue, progress)")
        }
        let task: String
        let arguments: JSONValue
        let enqueueOptions: EnqueueOptions
        do {
            let request = try JSONValue.decode(body)
            guard case .string(let name)? = request["task"] else {
                return .failure("an enqueue request needs {\"task\": name, \"arguments\": {…}}")
            }
            task = name
            arguments = request["arguments"] ?? [:]
            guard case .object(let fields) = request["options"] ?? [:] else {
                return .failure("the options of the enqueue of '\(name)' are not a JSON object")
            }
            enqueueOptions = try EnqueueOptions(json: fields)
        } catch {
            return .failure("a bad enqueue request: \(error.message)")
        }
        var backoff = Backoff(initial: .milliseconds(100), maximum: options.maxReconnectDelay)
        while !Task.isCancelled {
            do {
                let id = try await client.call(
                    CallRequest(
                        hostID: hostID, parentID: job.jobID, lease: job.lease, task: task, args: arguments, options: enqueueOptions, waits: false))
                logger.debug("enqueued a task", metadata: ["enqueued_task": "\(task)", "enqueued_job": "\(id)"])
                return .success(JSONValue.object(["request_id": .string(id)]).encoded())
            } catch let error as EasyJobsError where error.code == .managerUnavailable {
                let delay = backoff.next()
                logger.warning("cannot reach the manager while enqueueing '\(task)', retrying in \(delay.secondsText) s")
                try? await Task.sleep(for: delay)
            } catch {
                return .failure("cannot enqueue task '\(task)': \((error as? EasyJobsError)?.message ?? "\(error)")")
            }
        }
        return .failure("the enqueue of '\(task)' was cancelled")
    }

    /// Relays a running job's progress to the manager. Progress is advisory: a manager that cannot
    /// be reached, or a run that lost its lease, loses the report and the task goes on.
    private func progress(body: Data, from job: ClaimedJob, logger: Logger) async -> CallOutcome {
        guard let request = ProgressRequest(taskRequest: body, hostID: hostID, jobID: job.jobID, lease: job.lease) else {
            return .failure(ProgressRequest.malformedTaskRequest)
        }
        do {
            try await client.progress(request)
        } catch {
            logger.debug("progress not recorded: \(error)")
        }
        return .success(Data("{}".utf8))
    }

    private static func emit(_ line: LogLine, logger: Logger) {
        if line.isOutput {
            TaskOutput.write(line.message)
            return
        }
        let level: Logger.Level =
            switch line.level {
            case 0: .trace
            case 1: .debug
            case 2: .info
            case 3: .notice
            case 4: .warning
            case 5: .error
            default: .critical
            }
        logger.log(level: level, "\(line.message)")
    }

    /// Stops runs whose lease ran out without a renewal: the host was paused, or cut off from the
    /// manager, past its lease, and the job may be running elsewhere already.
    func stopOverdueRuns() async {
        let running = context.running
        let logger = context.logger
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            for run in running.overdue(at: .now) where running.stop(run, reason: .leaseLost) {
                logger.warning(
                    "the lease of a running job ran out without a renewal: stopping this run",
                    metadata: ["job_id": "\(run.jobID)", "lease": "\(run.lease)"])
            }
        }
    }
}
