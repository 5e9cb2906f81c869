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
        let capacity = Capacity(slots: options.maxTasks)
        let handoff = JobHandoff()
        let reporter = Reporter(client: client, hostID: hostID, capacity: capacity, handoff: handoff, logger: logger)
        let shipper = LogShipper(client: client, hostID: hostID, logger: logger)
        let children = ChildPool(
            size: options.subprocessPoolSize,
            launcher: ChildLauncher(
                executable: options.executable, manager: options.managerURL, killGrace: options.killGrace,
                crashReportGrace: options.crashReportGrace, leaseSeconds: session.leaseSeconds, logger: logger))
        children.keep(catalog.plugins)
        let context = RunContext(
            plugins: catalog, queue: options.queue, running: running, reporter: reporter, shipper: shipper, capacity: capacity,
            handoff: handoff, children: children, leaseSeconds: session.leaseSeconds, logger: logger)

        let runner = JobRunner(client: client, hostID: hostID, options: options, context: context, registrar: registrar, recycler: recycler)
        let manager = ManagerSession(client: client, hostID: hostID, options: options, registrar: registrar, running: running, logger: logger)
        let reloader = events.map {
            PluginReloader(
                events: $0, watcher: watcher, directory: directory, catalog: catalog, children: children, registrar: registrar,
                recycler: recycler, logger: logger)
        }

        await withTaskGroup(of: Void.self) { background in
            background.addTask { await reporter.run(maxDelay: options.maxReconnectDelay) }
            background.addTask { await manager.heartbeats(every: session.heartbeatSeconds, lease: session.leaseSeconds) }
            background.addTask { await runner.stopOverdueRuns() }
            if let reloader { background.addTask { await reloader.run() } }
            background.addTask { await manager.listenForEvents() }
            background.addTask { await shipper.run() }
            await withDiscardingTaskGroup { jobs in
                await runner.claim(into: &jobs)
                if !running.isEmpty {
                    logger.info(
                        "stopped claiming; waiting up to \(options.shutdownGrace.secondsText) s for \(running.count) running job(s)")
                    jobs.addTask { await runner.stopStragglers() }
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
}
