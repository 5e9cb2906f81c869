import EasyJobsClient
import EasyJobsCore
@testable import EasyJobsHost
import Foundation
import Testing

/// A heartbeat that reaches the manager after the report of a job it lists must not make the
/// host believe it lost that job's lease (issue 17: a plain benchmark logged 23 "lost the lease"
/// warnings, none of them a real loss).
@Suite(.serialized) struct HeartbeatRaceTests {
    @Test func heartbeatsRacingReportsLoseNoLeaseAndRunEachJobOnce() async throws {
        // A short lease makes heartbeats frequent (every third of it), so many race with reports;
        // long enough that a loaded machine does not let one run out for real.
        try await withCluster(managerArguments: ["--lease", "3"]) { cluster in
            let host = try await cluster.startHost(name: "busy", queue: "test", plugins: ["TestTasks"], maxTasks: 64)
            let client = cluster.client
            let metrics = { try await cluster.text("/metrics").1 }
            let before = try await metrics()
            let total = 6_000
            let deadline = ContinuousClock.now + .seconds(60)
            var sent = 0
            // Enough traffic for several seconds of heartbeats, bounded in count and time.
            while sent < total && ContinuousClock.now < deadline {
                _ = try await client.enqueueBatch(queue: "test", jobs: Array(repeating: BatchEnqueueItem(task: "noop"), count: 200))
                sent += 200
            }
            try await waitUntil("every job completed", timeout: .seconds(120)) {
                let text = try await metrics()
                return PrometheusText.value(#"easyjobs_jobs_succeeded_total{queue="test",task="noop"}"#, in: text)
                    - PrometheusText.value(#"easyjobs_jobs_succeeded_total{queue="test",task="noop"}"#, in: before) >= Double(sent)
            }
            let after = try await metrics()
            func grew(_ series: String) -> Double { PrometheusText.value(series, in: after) - PrometheusText.value(series, in: before) }
            let leaseLines = host.stderr.split(separator: "\n").filter { $0.contains("lease") }
            #expect(
                grew(#"easyjobs_jobs_started_total{queue="test",task="noop"}"#) == Double(sent),
                "a job started more than once; the host said: \(leaseLines.prefix(5).joined(separator: "\n"))")
            #expect(grew(#"easyjobs_jobs_succeeded_total{queue="test",task="noop"}"#) == Double(sent))
            #expect(
                !host.stderr.contains("lost the lease"),
                "\(host.stderr.split(separator: "\n").filter { $0.contains("lost the lease") }.count) false lease losses")
        }
    }

    /// The rule the host applies to a heartbeat's answer: a run whose outcome is already on its
    /// way to the manager is not lost when the manager no longer finds its lease.
    @Test func aReportedRunIsNotStoppedAsLost() {
        let running = RunningJobs()
        let reported = LeasedJob(jobID: "a", lease: 1)
        let unreported = LeasedJob(jobID: "b", lease: 1)
        running.insert(reported, leaseDeadline: .now + .seconds(30))
        running.insert(unreported, leaseDeadline: .now + .seconds(30))
        running.markReported(reported)
        #expect(running.stopLost(reported) == false)
        #expect(running.reason(reported) == nil)
        #expect(running.stopLost(unreported) == true)
        #expect(running.reason(unreported) == .leaseLost)
    }

    /// Runs are kept by job, then by lease (issue 14: a start looked for stale runs of its job
    /// by copying every run the host had): a job's runs are found by its id, a stale run apart
    /// from the new one, and removing the last run of a job leaves nothing behind.
    @Test func aJobsRunsAreFoundByItsIDAndKeptApartByLease() {
        let running = RunningJobs()
        let stale = LeasedJob(jobID: "a", lease: 1)
        let fresh = LeasedJob(jobID: "a", lease: 2)
        let other = LeasedJob(jobID: "b", lease: 7)
        for run in [stale, fresh, other] { running.insert(run, leaseDeadline: .now + .seconds(30)) }
        #expect(Set(running.runs(ofJob: "a")) == [stale, fresh])
        #expect(running.runs(ofJob: "c").isEmpty)
        #expect(running.count == 3 && Set(running.snapshot()) == [stale, fresh, other])

        #expect(running.stop(stale, reason: .leaseLost))
        #expect(running.reason(stale) == .leaseLost && running.reason(fresh) == nil)
        #expect(running.stop(jobID: "b", reason: .cancelled))
        #expect(running.cancelling == ["b"])
        #expect(running.overdue(at: .now + .seconds(60)) == [fresh])

        running.remove(stale)
        #expect(running.runs(ofJob: "a") == [fresh])
        running.remove(fresh)
        running.remove(other)
        #expect(running.isEmpty && running.count == 0 && running.snapshot().isEmpty)
        #expect(!running.stop(fresh, reason: .shutdown))
    }
}
