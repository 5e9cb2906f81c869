import CoreMetrics
import EasyJobsCore
import EasyJobsStore
import Foundation
import Prometheus
import Synchronization

/// The manager's metrics, through swift-metrics into a Prometheus registry served at `/metrics`.
///
/// The factory is passed to each metric rather than bootstrapped globally, so a process that
/// runs a manager twice (tests, `easyjobs up`) never trips over the one-time global bootstrap.
public struct ManagerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    /// Handles by name and labels: claims and reports touch metrics for every job, and a
    /// dictionary lookup is cheaper than the registry's.
    private let handles = Handles()

    private final class Handles: Sendable {
        let counters = Mutex([String: CoreMetrics.Counter]())
        let timers = Mutex([String: CoreMetrics.Timer]())
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        let buckets: [Duration] = [
            .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
            .seconds(120), .seconds(600),
        ]
        factory.defaultDurationHistogramBuckets = buckets
        self.factory = factory
    }

    func count(_ name: String, _ dimensions: [(String, String)], by amount: Int = 1) {
        let key = Self.key(name, dimensions)
        let counter = handles.counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(label: name, dimensions: dimensions, factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment(by: amount)
    }

    func time(_ name: String, _ dimensions: [(String, String)], seconds: Double) {
        let key = Self.key(name, dimensions)
        let timer = handles.timers.withLock { timers in
            if let timer = timers[key] { return timer }
            let timer = CoreMetrics.Timer(label: name, dimensions: dimensions, factory: factory)
            timers[key] = timer
            return timer
        }
        timer.recordNanoseconds(Int64(max(0, seconds) * 1e9))
    }

    private static func key(_ name: String, _ dimensions: [(String, String)]) -> String {
        dimensions.reduce(into: name) { key, dimension in key += "\u{1F}\(dimension.0)=\(dimension.1)" }
    }

    func enqueued(_ jobs: [NewJob]) {
        for job in jobs {
            count("easyjobs_jobs_enqueued_total", [("queue", job.queue), ("task", job.task), ("origin", job.origin.kind.rawValue)])
        }
    }

    /// Jobs that ends created (successors, failure handlers).
    func enqueued(_ jobs: [Job]) {
        for job in jobs {
            count("easyjobs_jobs_enqueued_total", [("queue", job.queue), ("task", job.task), ("origin", job.origin.kind.rawValue)])
        }
    }

    func started(_ jobs: [Job], now: Date = .now) {
        for job in jobs {
            count("easyjobs_jobs_started_total", [("queue", job.queue), ("task", job.task)])
            time(
                "easyjobs_queue_wait_seconds", [("queue", job.queue), ("task", job.task)],
                seconds: now.timeIntervalSince(max(job.createdAt, job.runAt ?? job.createdAt)))
        }
    }

    /// Jobs handed out in the answer to a report rather than to a claim.
    func claimedWithReport(_ jobs: [ClaimedJob]) {
        for job in jobs { count("easyjobs_jobs_claimed_with_report_total", [("queue", job.queue ?? ""), ("task", job.task)]) }
    }

    func finished(_ jobs: [Job]) {
        for job in jobs {
            let name =
                switch job.status {
                case .completed: "easyjobs_jobs_succeeded_total"
                case .cancelled: "easyjobs_jobs_cancelled_total"
                case .expired: "easyjobs_jobs_expired_total"
                default: "easyjobs_jobs_failed_total"
                }
            count(name, [("queue", job.queue), ("task", job.task)])
            if let started = job.startedAt, let finished = job.finishedAt {
                time("easyjobs_job_run_seconds", [("queue", job.queue), ("task", job.task)], seconds: finished.timeIntervalSince(started))
            }
        }
    }

    func retried(_ job: Job) {
        count("easyjobs_jobs_retried_total", [("queue", job.queue), ("task", job.task)])
    }

    func registered(_ host: HostRegistration) {
        count("easyjobs_plugin_loads_total", [("host", host.name)], by: host.plugins.count)
        count("easyjobs_plugin_refusals_total", [("host", host.name)], by: host.refused.count)
        for queue in host.queues { count("easyjobs_host_registrations_total", [("queue", queue.name)]) }
    }

    /// Gauges read at scrape time: they say how things are, not what happened.
    func gauge(_ name: String, _ dimensions: [(String, String)], _ value: Double) {
        Gauge(label: name, dimensions: dimensions, factory: factory).record(value)
    }
}
