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

    private func timer(_ name: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer {
        let key = Self.key(name, dimensions)
        return handles.timers.withLock { timers in
            if let timer = timers[key] { return timer }
            let timer = CoreMetrics.Timer(label: name, dimensions: dimensions, factory: factory)
            timers[key] = timer
            return timer
        }
    }

    private static func key(_ name: String, _ dimensions: [(String, String)]) -> String {
        dimensions.reduce(into: name) { key, dimension in key += "\u{1F}\(dimension.0)=\(dimension.1)" }
    }

    /// A metric of one job's queue and task (and origin): what the per-job counts are kept by.
    private struct Series: Equatable {
        var name: String
        var queue: String
        var task: String
        var origin: String?

        init(_ name: String, _ queue: String, _ task: String, origin: String? = nil) {
            (self.name, self.queue, self.task, self.origin) = (name, queue, task, origin)
        }

        var dimensions: [(String, String)] {
            [("queue", queue), ("task", task)] + (origin.map { [("origin", $0)] } ?? [])
        }
    }

    /// Counts one for each series given. A run of equal series is one increment: a batch is
    /// mostly one queue and task, and a handle lookup a job (its key built and hashed) was 3 %
    /// of a manager running batches.
    private func count(each series: some Sequence<Series>) {
        var current: Series?
        var run = 0
        for next in series {
            if next == current {
                run += 1
                continue
            }
            if let current { count(current.name, current.dimensions, by: run) }
            (current, run) = (next, 1)
        }
        if let current { count(current.name, current.dimensions, by: run) }
    }

    /// Records each duration in its series' timer, looking a timer up once for a run of equal series.
    private func time(each observations: some Sequence<(Series, Double)>) {
        var current: (series: Series, timer: CoreMetrics.Timer)?
        for (series, seconds) in observations {
            if current?.series != series { current = (series, timer(series.name, series.dimensions)) }
            current?.timer.recordNanoseconds(Int64(max(0, seconds) * 1e9))
        }
    }

    func enqueued(_ jobs: [NewJob]) {
        count(each: jobs.lazy.map { Series("easyjobs_jobs_enqueued_total", $0.queue, $0.task, origin: $0.origin.kind.rawValue) })
    }

    /// Jobs that ends created (successors, failure handlers).
    func enqueued(_ jobs: [Job]) {
        count(each: jobs.lazy.map { Series("easyjobs_jobs_enqueued_total", $0.queue, $0.task, origin: $0.origin.kind.rawValue) })
    }

    func started(_ jobs: [ClaimedRun], now: Date = .now) {
        count(each: jobs.lazy.map { Series("easyjobs_jobs_started_total", $0.queue, $0.task) })
        time(
            each: jobs.lazy.map { job in
                (Series("easyjobs_queue_wait_seconds", job.queue, job.task), now.timeIntervalSince(max(job.createdAt, job.runAt ?? job.createdAt)))
            })
    }

    /// Jobs handed out in the answer to a report rather than to a claim.
    func claimedWithReport(_ jobs: [ClaimedJob]) {
        count(each: jobs.lazy.map { Series("easyjobs_jobs_claimed_with_report_total", $0.queue ?? "", $0.task) })
    }

    func finished(_ jobs: [Job]) {
        count(
            each: jobs.lazy.map { job in
                let name =
                    switch job.status {
                    case .completed: "easyjobs_jobs_succeeded_total"
                    case .cancelled: "easyjobs_jobs_cancelled_total"
                    case .expired: "easyjobs_jobs_expired_total"
                    default: "easyjobs_jobs_failed_total"
                    }
                return Series(name, job.queue, job.task)
            })
        time(
            each: jobs.lazy.compactMap { job in
                guard let started = job.startedAt, let finished = job.finishedAt else { return nil }
                return (Series("easyjobs_job_run_seconds", job.queue, job.task), finished.timeIntervalSince(started))
            })
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
