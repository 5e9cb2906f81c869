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

/// The host daemon: loads the plugins of a directory, registers their tasks with the manager,
/// claims jobs of its queue and runs at most `maxTasks` of them at once.
///
/// On graceful shutdown (SIGTERM, SIGINT) it stops claiming, lets running jobs finish and
/// delivers their results before it returns.
///
/// ```swift
/// let host = HostService(options: HostOptions(pluginsDirectory: URL(filePath: "plugins"), queue: "ETL"), logger: logger)
/// let group = ServiceGroup(configuration: .init(services: [host], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
/// try await group.run()
/// ```
public struct HostService: Service {
    public let options: HostOptions
    let client: ManagerClient
    let logger: Logger
    let loader: any PluginLoader
    /// Stable for the life of this process (and across its recycling), so the manager recognises
    /// a reconnecting host.
    let hostID = ProcessInfo.processInfo.environment[Recycler.hostIDVariable] ?? Job.newID()

    public init(options: HostOptions, logger: Logger, client: ManagerClient? = nil, loader: (any PluginLoader)? = nil) {
        self.options = options
        self.logger = logger
        // A recycled host continues its predecessor's session, so the manager knows it is the same host.
        let session = HostSession(token: ProcessInfo.processInfo.environment[Recycler.sessionVariable])
        unsetenv(Recycler.sessionVariable)
        self.client = client ?? ManagerClient(baseURL: options.managerURL, secret: options.secret, session: session)
        self.loader = loader ?? DynamicLibraryLoader(cacheDirectory: options.cacheDirectory, probe: PluginProbe(executable: options.executable))
    }

    public func run() async throws {
        var hostLogger = self.logger
        hostLogger[metadataKey: "host"] = "\(options.name)"
        let logger = hostLogger
        let directory = PluginDirectory(directory: options.pluginsDirectory, loader: loader)
        // Watching starts before the first scan: a file that lands while the host loads the
        // others or registers is then an event in the stream, not a file nobody looks at.
        let watcher = PluginWatcher(directory: options.pluginsDirectory)
        let events: AsyncStream<PluginFileEvent>?
        do {
            events = try watcher.events()
        } catch {
            logger.error("cannot watch the plugin directory; plugins load only at start: \(error)")
            events = nil
        }
        defer { watcher.stop() }
        let catalog = await directory.loadAll(logger: logger)
        let registrar = Registrar(client: client, hostID: hostID, options: options, catalog: catalog, logger: logger)
        guard let session = await registrar.register() else { return }
        let recycler = Recycler(maxReloads: options.recycleAfterReloads, maxRSSMB: options.recycleAboveRSSMB)

        let running = RunningJobs()
        let reporter = Reporter(client: client, hostID: hostID, logger: logger)
        let shipper = LogShipper(client: client, hostID: hostID, logger: logger)
        let capacity = Capacity(slots: options.maxTasks)
        let children = ChildPool(
            size: options.subprocessPoolSize,
            launcher: ChildLauncher(
                executable: options.executable, manager: options.managerURL, killGrace: options.killGrace,
                leaseSeconds: session.leaseSeconds, logger: logger))
        children.keep(catalog.plugins)
        let context = RunContext(
            plugins: catalog, queue: options.queue, running: running, reporter: reporter, shipper: shipper, capacity: capacity,
            children: children, leaseSeconds: session.leaseSeconds, logger: logger)

        await withTaskGroup(of: Void.self) { background in
            background.addTask { await reporter.run(maxDelay: options.maxReconnectDelay) }
            background.addTask {
                await heartbeats(
                    every: session.heartbeatSeconds, lease: session.leaseSeconds, running: running, registrar: registrar, logger: logger)
            }
            background.addTask { await stopOverdueRuns(running: running, logger: logger) }
            background.addTask {
                guard let events else { return }
                await watchPlugins(
                    events: events, watcher: watcher, directory: directory, catalog: catalog, children: children, registrar: registrar,
                    recycler: recycler, logger: logger)
            }
            background.addTask { await listenForEvents(running: running, logger: logger) }
            background.addTask { await shipper.run() }
            await withDiscardingTaskGroup { jobs in
                await claimLoop(into: &jobs, context: context, registrar: registrar, recycler: recycler, logger: logger)
                if !running.isEmpty {
                    logger.info("stopped claiming; waiting up to \(options.shutdownGrace.secondsText) s for \(running.snapshot().count) running job(s)")
                    jobs.addTask { await stopStragglers(running: running, logger: logger) }
                }
            }
            // Nothing more will run here: no idle child outlives the host (nor a recycle).
            await children.shutdown()
            logger.info("stopped claiming; delivering the results of finished jobs")
            reporter.finish()
            await background.next()
            await shipper.flush()
            background.cancelAll()
        }
        if recycler.isRequested && !Task.isShuttingDownGracefully {
            // Everything this process ran is reported; what the manager still leases to it was
            // claimed by the poll the recycle cut off, and never reached this process.
            if let released = try? await client.release(ReleaseRequest(hostID: hostID, jobs: [], all: true)), !released.released.isEmpty {
                logger.info("handed back \(released.released.count) job(s) claimed by the interrupted poll")
            }
            logger.notice("recycling: executing a fresh host process with the same identity")
            let error = recycler.execute(hostID: hostID, session: client.session.token)
            logger.error("could not execute a fresh host process (errno \(error)); stopping instead")
        }
        do {
            let response = try await client.unregister(UnregisterRequest(hostID: hostID))
            logger.info("left the manager", metadata: ["released_jobs": "\(response.released.count)"])
        } catch {
            logger.warning("could not say goodbye to the manager; jobs it still leases to this host return when their leases run out: \(error)")
        }
    }

    private func claimLoop(
        into jobs: inout DiscardingTaskGroup, context: RunContext, registrar: Registrar, recycler: Recycler, logger: Logger
    ) async {
        var backoff = Backoff(initial: .milliseconds(50), maximum: options.maxReconnectDelay)
        while !Task.isCancelled && !Task.isShuttingDownGracefully && !recycler.isRequested {
            let free = await cancelWhenGracefulShutdown { await context.capacity.waitForFree() }
            guard free > 0 else { break }
            let claimed: [ClaimedJob]
            do {
                claimed = try await cancelWhenGracefulShutdown {
                    try await recycler.interruptible {
                        try await client.claim(ClaimRequest(hostID: hostID, max: free, wait: options.claimWait.inSeconds)).jobs
                    }
                }
                backoff.reset()
            } catch is CancellationError {
                break
            } catch let error as EasyJobsError where error.code == .hostNotFound || error.code == .sessionInvalid {
                logger.warning("the manager does not know this host's session any more; registering again")
                await registrar.register()
                continue
            } catch {
                if Task.isShuttingDownGracefully || recycler.isRequested { break }
                let delay = backoff.next()
                logger.warning("claim failed, retrying in \(delay.secondsText) s: \(error)")
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                continue
            }
            // A job for a task this host no longer serves (its plugin was just removed) goes back untouched.
            let unserved = claimed.filter { context.plugins.plugin(serving: $0.task) == nil }.map(\.leased)
            if !unserved.isEmpty {
                logger.info("handing back \(unserved.count) job(s) for tasks this host no longer serves")
                _ = try? await client.release(ReleaseRequest(hostID: hostID, jobs: unserved))
            }
            let runnable = claimed.filter { !unserved.contains($0.leased) }
            context.capacity.take(runnable.count)
            for job in runnable {
                // A long poll may hold a claim's answer for a while, so the lease is counted from the
                // manager's own expiry time (clocks agree within the margin), not from the request.
                let remaining = job.leaseExpiresAt.timeIntervalSinceNow
                let deadline = ContinuousClock.now + .seconds(max(remaining, 0)) - context.leaseMarginLoss
                // A stale run of the same job (its lease lapsed while this host was paused) stops now.
                for stale in context.running.snapshot() where stale.jobID == job.jobID && stale.lease != job.lease {
                    context.running.stop(stale, reason: .leaseLost)
                }
                context.running.insert(job.leased, leaseDeadline: deadline)
                jobs.addTask {
                    // A task of its own, so one job can be stopped without touching the others.
                    let run = Task { await supervise(job, context: context) }
                    context.running.attach(job.leased, task: run)
                    await withTaskCancellationHandler { await run.value } onCancel: { run.cancel() }
                    context.running.remove(job.leased)
                    context.capacity.release()
                }
            }
        }
    }

    /// Runs a job under its timeout and reports its outcome, unless it goes back to the queue.
    private func supervise(_ job: ClaimedJob, context: RunContext) async {
        let timeout = context.plugins.plugin(serving: job.task)?.spec(of: job.task)?.options.timeout
        let watchdog = timeout.map { seconds in
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                if !Task.isCancelled { context.running.stop(job.leased, reason: .timedOut(seconds: seconds)) }
            }
        }
        let plugin = context.plugins.plugin(serving: job.task)
        let outcome = await execute(job, plugin: plugin, context: context)
        watchdog?.cancel()
        // A run that lost its lease reports nothing: the job is someone else's now.
        guard context.running.reason(job.leased) != .leaseLost else { return }
        if let outcome {
            context.running.markReported(job.leased)
            context.reporter.add(JobReport(jobID: job.jobID, lease: job.lease, outcome: outcome, plugin: plugin?.info.ref))
        }
    }

    /// After the grace period of a graceful stop, stops what still runs; those jobs go back to the queue.
    private func stopStragglers(running: RunningJobs, logger: Logger) async {
        let deadline = ContinuousClock.now + options.shutdownGrace
        while !running.isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if !running.isEmpty {
            logger.warning("grace period over: stopping \(running.snapshot().count) job(s) and handing them back to the queue")
            running.stopAll(reason: .shutdown)
        }
    }

    /// Listens for what the manager asks of this host: running jobs to cancel.
    private func listenForEvents(running: RunningJobs, logger: Logger) async {
        var backoff = Backoff(initial: .milliseconds(100), maximum: options.maxReconnectDelay)
        while !Task.isCancelled {
            do {
                let events = try await client.events(EventsRequest(hostID: hostID, seen: running.cancelling, wait: options.claimWait.inSeconds))
                for id in events.cancel where running.stop(jobID: id, reason: .cancelled) {
                    logger.info("cancelling a running job", metadata: ["job_id": "\(id)"])
                }
                backoff.reset()
            } catch {
                if Task.isCancelled { return }
                let delay = backoff.next()
                logger.debug("events poll failed, retrying in \(delay.secondsText) s: \(error)")
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Runs the job in the host or in a child process; returns the outcome to report, or `nil`
    /// when there is none to report (the child reported it, or the job goes back to the queue).
    private func execute(_ job: ClaimedJob, plugin: LoadedPlugin?, context: RunContext) async -> JobOutcome? {
        var logger = context.logger
        logger[metadataKey: "job_id"] = "\(job.jobID)"
        logger[metadataKey: "task"] = "\(job.task)"
        guard let plugin, let spec = plugin.spec(of: job.task) else {
            return .failed("host \(options.name) has no plugin serving task '\(job.task)'")
        }
        var runContext: [String: JSONValue] = [
            "job_id": .string(job.jobID), "queue": .string(context.queue), "task": .string(job.task), "attempt": .int(job.attempt),
        ]
        if !job.dependencies.isEmpty { runContext["dependencies"] = .object(job.dependencies) }
        logger.debug("job started", metadata: ["attempt": "\(job.attempt)", "plugin": "\(plugin.info.name)@\(plugin.info.version)"])
        if spec.options.subprocess {
            let runner = SubprocessRunner(children: context.children, logger: logger)
            let outcome = await runner.run(
                job, plugin: plugin, spec: spec, context: .object(runContext),
                stopReason: { context.running.reason(job.leased) },
                onLine: { stream, line in context.shipper.append(jobID: job.jobID, stream: stream, line: line) })
            if case .failed(let message) = outcome { logger.info("job failed: \(message)") }
            return outcome
        }
        let invocation = TaskInvocation(
            jobID: job.jobID, arguments: JSONValue.object(job.args).encoded(), context: JSONValue.object(runContext).encoded(),
            onLog: { [logger] line in
                Self.emit(line, logger: logger)
                // What a job prints belongs to its log wherever it runs, as a child's output does.
                if line.isOutput { context.shipper.append(jobID: job.jobID, stream: .stdout, line: line.message) }
            },
            onCall: { [logger] task, arguments in await call(task, arguments: arguments, from: job, context: context, logger: logger) })
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
    private func call(_ task: String, arguments: Data, from job: ClaimedJob, context: RunContext, logger: Logger) async -> CallOutcome {
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

    /// Applies plugin files added, replaced or removed while the host runs, one at a time, off the
    /// claim and run paths: a reload never holds up jobs of other plugins.
    private func watchPlugins(
        events: AsyncStream<PluginFileEvent>, watcher: PluginWatcher, directory: PluginDirectory, catalog: PluginCatalog,
        children: ChildPool, registrar: Registrar, recycler: Recycler, logger: Logger
    ) async {
        await withTaskCancellationHandler {
            for await event in events {
                switch event {
                case .changed(let name):
                    let file = options.pluginsDirectory.appendingPathComponent(name)
                    let before = catalog.current(file: name)
                    let started = ContinuousClock.now
                    guard let plugin = await directory.load(file: file, into: catalog, logger: logger) else {
                        await registrar.register()  // the refusal is visible in the manager
                        continue
                    }
                    // Idle children of a version no longer served end now; the new one gets its own.
                    children.keep(catalog.plugins)
                    if let before, before.info.sha256 == plugin.info.sha256 { continue }
                    await registrar.register()
                    logger.notice(
                        "plugin \(before == nil ? "added" : "replaced")",
                        metadata: [
                            "file": "\(name)", "plugin": "\(plugin.info.name)",
                            "version": "\(before.map { "\($0.info.version) → " } ?? "")\(plugin.info.version)",
                            "took_ms": "\(((ContinuousClock.now - started).inSeconds * 10_000).rounded() / 10)",
                        ])
                    if before != nil, let reason = recycler.reloaded() {
                        logger.notice("recycling the host after \(reason)")
                        recycler.request()
                    }
                case .removed(let name):
                    guard let removed = catalog.remove(file: name) else { continue }
                    children.keep(catalog.plugins)
                    await registrar.register()
                    logger.notice("plugin removed", metadata: ["file": "\(name)", "plugin": "\(removed.info.name)", "version": "\(removed.info.version)"])
                }
            }
        } onCancel: {
            watcher.stop()
        }
    }

    private func heartbeats(every seconds: Double, lease: Double, running: RunningJobs, registrar: Registrar, logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(seconds))
            if Task.isCancelled { return }
            do {
                let sent = ContinuousClock.now
                let response = try await client.heartbeat(HeartbeatRequest(hostID: hostID, running: running.snapshot()))
                running.renewed(response.renewed, until: sent + RunContext.margin(lease: lease))
                for run in response.lost where running.stopLost(run) {
                    logger.warning(
                        "lost the lease of a running job: stopping this run, the manager handed the job back to the queue",
                        metadata: ["job_id": "\(run.jobID)", "lease": "\(run.lease)"])
                }
            } catch let error as EasyJobsError where error.code == .hostNotFound || error.code == .sessionInvalid {
                await registrar.register()
            } catch {
                logger.debug("heartbeat failed: \(error)")
            }
        }
    }

    /// Stops runs whose lease ran out without a renewal: the host was paused, or cut off from the
    /// manager, past its lease, and the job may be running elsewhere already.
    private func stopOverdueRuns(running: RunningJobs, logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            for run in running.overdue(at: .now) where running.stop(run, reason: .leaseLost) {
                logger.warning(
                    "the lease of a running job ran out without a renewal: stopping this run", metadata: ["job_id": "\(run.jobID)", "lease": "\(run.lease)"])
            }
        }
    }
}

/// What every run of this host shares.
struct RunContext: Sendable {
    let plugins: PluginCatalog
    let queue: String
    let running: RunningJobs
    let reporter: Reporter
    let shipper: LogShipper
    let capacity: Capacity
    /// Idle subprocess children, per plugin version.
    let children: ChildPool
    /// The manager's lease, in seconds.
    let leaseSeconds: Double
    let logger: Logger

    /// How long after a renewal was sent a run may go on without the next one: the lease less a
    /// margin, so a run stops before the manager can hand its job to another host.
    static func margin(lease: Double) -> Duration {
        .seconds(lease) - lossMargin(lease: lease)
    }

    /// What is taken off a lease: a tenth of it, at most a second.
    static func lossMargin(lease: Double) -> Duration {
        .seconds(min(1, lease * 0.1))
    }

    var leaseMarginLoss: Duration { Self.lossMargin(lease: leaseSeconds) }
}
