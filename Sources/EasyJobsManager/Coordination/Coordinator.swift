import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging
import ServiceLifecycle

/// The manager's logic, apart from HTTP: checks and stores jobs, hands them to hosts and
/// records how they ended. Routes call only this. Its parts, one file each:
/// enqueues (`+Enqueue`), what clients do with a job (`+Jobs`), the host protocol
/// (`+HostSessions`), pipelines (`+Pipeline`), schedules and pauses (`+Schedules`), the read
/// paths (`+Queries`) and what other managers of the store changed (`+Peers`).
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
    let queueTurns = HostQueueTurns()
    let gaugeRefresh = GaugeRefresh()

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

    /// The job with this request id, or `404 job_not_found`.
    public func job(id: String) async throws -> Job {
        guard let job = try await store.job(id: id) else {
            throw EasyJobsError(.jobNotFound, "no job with request id '\(id)'", context: ["request_id": id])
        }
        return job
    }

    /// The problems found in the pipelines of the host's tasks, as `task: problem` lines.
    public func problems(of host: HostRecord) -> [String] {
        let names = Set(host.plugins.flatMap { $0.tasks.map(\.name) })
        let lines = host.queues.flatMap { queue in
            let problems = registry.problems(queue: queue.name)
            return problems.keys.sorted().filter(names.contains).flatMap { task in problems[task]!.map { "\(task): \($0)" } }
        }
        // The same plugin in two queues finds the same problems in each: say each once.
        var seen: Set<String> = []
        return lines.filter { seen.insert($0).inserted }
    }

    public func isServed(queue: String, task: String) -> Bool {
        registry.isServed(queue: queue, task: task, onlineSince: Date().addingTimeInterval(-options.lease.inSeconds * 2))
    }

    /// The Prometheus text of every metric, with the gauges brought up to date.
    public func scrapeMetrics() async throws -> [UInt8] {
        // The gauges keep their last values between counts (see `ManagerOptions.gaugeInterval`).
        if gaugeRefresh.isDue(every: options.gaugeInterval) {
            for queue in registry.queues.keys {
                // Only the gauges' statuses: counting every status read the queue's whole history at
                // each scrape (with 300,000 finished jobs kept, 45–67 ms a scrape under load against 6–16 ms now).
                let counts = try await store.counts(queue: queue, statuses: [.queued, .running, .waiting])
                metrics.gauge("easyjobs_queue_depth", [("queue", queue)], Double(counts[.queued] ?? 0))
                metrics.gauge("easyjobs_jobs_running", [("queue", queue)], Double(counts[.running] ?? 0))
                metrics.gauge("easyjobs_jobs_waiting", [("queue", queue)], Double(counts[.waiting] ?? 0))
            }
        }
        let now = Date()
        let hosts = registry.hosts
        metrics.gauge("easyjobs_hosts_online", [], Double(hosts.filter { isOnline($0, now: now) && !registry.isLeaving(hostID: $0.id) }.count))
        metrics.gauge("easyjobs_plugins_refused", [], Double(hosts.filter { isOnline($0, now: now) }.reduce(0) { $0 + $1.refused.count }))
        return metrics.registry.emitToBuffer()
    }

    /// A host is online while it heartbeats within two lease periods.
    public func isOnline(_ host: HostRecord, now: Date = .now) -> Bool {
        now.timeIntervalSince(host.lastSeen) < options.lease.inSeconds * 2
    }
}
