import EasyJobsCore
@testable import EasyJobsManager
import EasyJobsStore
import Foundation
import Testing

/// Per-job counts are added up by series, a run of alike jobs at a time: every job is counted
/// under its own queue, task and origin however the batch interleaves them.
@Suite struct ManagerMetricsTests {
    private func value(_ series: String, in metrics: ManagerMetrics) -> Double? {
        let text = String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self)
        return text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func interleavedJobsAreEachCountedInTheirOwnSeries() {
        let metrics = ManagerMetrics()
        let plan: [(String, String, JobOrigin)] = [
            ("etl", "extract", .api), ("etl", "extract", .api), ("etl", "load", .api), ("etl", "extract", .api),
            ("etl", "extract", JobOrigin(.runAfter, parent: "p")), ("mail", "extract", .api), ("mail", "extract", .api),
        ]
        metrics.enqueued(plan.map { NewJob(queue: $0.0, task: $0.1, args: [:], origin: $0.2) })
        metrics.enqueued([NewJob(queue: "etl", task: "load", args: [:])])

        #expect(value(#"easyjobs_jobs_enqueued_total{queue="etl",task="extract",origin="api"}"#, in: metrics) == 3)
        #expect(value(#"easyjobs_jobs_enqueued_total{queue="etl",task="extract",origin="run_after"}"#, in: metrics) == 1)
        #expect(value(#"easyjobs_jobs_enqueued_total{queue="etl",task="load",origin="api"}"#, in: metrics) == 2)
        #expect(value(#"easyjobs_jobs_enqueued_total{queue="mail",task="extract",origin="api"}"#, in: metrics) == 2)
    }

    @Test func endsAreCountedByOutcomeAndTimedOncePerJob() {
        let metrics = ManagerMetrics()
        let start = Date(timeIntervalSince1970: 1_000)
        func job(_ task: String, _ status: JobStatus, ran seconds: Double?) -> Job {
            var job = Job(id: Job.newID(), queue: "etl", task: task, args: [:], status: status, createdAt: start)
            job.startedAt = seconds.map { _ in start }
            job.finishedAt = seconds.map { start.addingTimeInterval($0) }
            return job
        }
        metrics.finished([
            job("extract", .completed, ran: 0.002), job("extract", .completed, ran: 0.5), job("extract", .failed, ran: 0.01),
            job("extract", .completed, ran: 0.002), job("load", .completed, ran: 20), job("extract", .cancelled, ran: nil),
        ])

        #expect(value(#"easyjobs_jobs_succeeded_total{queue="etl",task="extract"}"#, in: metrics) == 3)
        #expect(value(#"easyjobs_jobs_failed_total{queue="etl",task="extract"}"#, in: metrics) == 1)
        #expect(value(#"easyjobs_jobs_cancelled_total{queue="etl",task="extract"}"#, in: metrics) == 1)
        #expect(value(#"easyjobs_jobs_succeeded_total{queue="etl",task="load"}"#, in: metrics) == 1)
        // Only the runs that started and finished are timed, each once.
        #expect(value(#"easyjobs_job_run_seconds_count{queue="etl",task="extract"}"#, in: metrics) == 4)
        #expect(value(#"easyjobs_job_run_seconds_bucket{queue="etl",task="extract",le="0.005"}"#, in: metrics) == 2)
        #expect(value(#"easyjobs_job_run_seconds_count{queue="etl",task="load"}"#, in: metrics) == 1)
    }
}
