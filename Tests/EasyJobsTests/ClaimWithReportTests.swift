import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

/// A report that asks for jobs gets the next ones in its answer, claimed as a claim would claim
/// them: a chain's next step reaches the host that ran the step before without a claim's round
/// trip (issue 14), and nothing a claim would refuse comes that way.
@Suite struct ClaimWithReportTests {
    static let plugin = PluginInfo(
        name: "steps", version: "1", sha256: "0", abi: "1.1",
        tasks: [
            TaskSpec(name: "first", options: TaskOptions(runAfter: ["second"])),
            TaskSpec(name: "second", parameters: [TaskParameter(name: "step", type: .int)]),
            TaskSpec(name: "other"),
        ])

    /// A client registered as host `id` of queue `q`, serving ``plugin``.
    private func host(_ cluster: TestCluster, id: String = "reporter") async throws -> ManagerClient {
        let client = cluster.client
        _ = try await client.register(HostRegistration(hostID: id, name: id, queue: "q", maxTasks: 4, plugins: [Self.plugin], refused: []))
        return client
    }

    /// Claims the one queued `first` and reports it completed with `claim`.
    private func runFirst(_ host: ManagerClient, claim: Int) async throws -> (ReportResponse, first: String) {
        let id = try await host.enqueue(queue: "q", task: "first")
        let first = try #require(try await host.claim(ClaimRequest(hostID: "reporter", max: 1, wait: 5)).jobs.first { $0.jobID == id })
        let answer = try await host.report(
            ReportRequest(hostID: "reporter", reports: [JobReport(jobID: id, lease: first.lease, outcome: .completed(["step": 1]))], claim: claim))
        #expect(answer.accepted == 1)
        return (answer, id)
    }

    @Test func aReportThatAsksForAJobCarriesTheChainsNextStep() async throws {
        try await withCluster { cluster in
            let host = try await host(cluster)
            let (answer, first) = try await runFirst(host, claim: 1)
            let second = try #require(answer.jobs.first)
            #expect(answer.jobs.count == 1)
            #expect(second.task == "second" && second.queue == "q" && second.args == ["step": 1] && second.attempt == 1)
            let graph = try await host.graph(id: first)
            #expect(graph.jobs.first { $0.requestID == second.jobID }?.status == .running)

            // The run is the host's as a claimed one is: its report counts.
            let last = try await host.report(
                ReportRequest(
                    hostID: "reporter", reports: [JobReport(jobID: second.jobID, lease: second.lease, outcome: .completed(2))], claim: 3))
            #expect(last.accepted == 1 && last.rejected.isEmpty && last.jobs.isEmpty)
            #expect(try await host.viewResult(id: second.jobID).status == .completed)
            let (_, metrics) = try await cluster.text("/metrics")
            #expect(PrometheusText.value(#"easyjobs_jobs_claimed_with_report_total{queue="q",task="second"}"#, in: metrics) == 1)
        }
    }

    @Test func aReportThatAsksForNoneLeavesTheNextStepQueued() async throws {
        try await withCluster { cluster in
            let host = try await host(cluster)
            let (answer, first) = try await runFirst(host, claim: 0)
            #expect(answer.jobs.isEmpty)
            let second = try #require(try await host.graph(id: first).jobs.first { $0.task == "second" })
            #expect(second.status == .queued)
            #expect(try await host.claim(ClaimRequest(hostID: "reporter", max: 4, wait: 5)).jobs.map(\.jobID) == [second.requestID])
        }
    }

    @Test func aReportClaimsInTheQueuesOrderAndNoMoreThanItAsks() async throws {
        try await withCluster { cluster in
            let host = try await host(cluster)
            var older: [String] = []
            for _ in 0..<3 { older.append(try await host.enqueue(queue: "q", task: "other")) }
            let id = try await host.enqueue(queue: "q", task: "first", options: EnqueueOptions(priority: 5))
            let first = try #require(try await host.claim(ClaimRequest(hostID: "reporter", max: 1, wait: 5)).jobs.first)
            #expect(first.jobID == id)
            // The chain's next step is newer than the three waiting jobs: it does not jump them.
            let answer = try await host.report(
                ReportRequest(hostID: "reporter", reports: [JobReport(jobID: id, lease: first.lease, outcome: .completed(["step": 1]))], claim: 2))
            #expect(answer.jobs.map(\.jobID) == Array(older.prefix(2)))
        }
    }

    @Test func aReportClaimsNothingFromAPausedQueue() async throws {
        try await withCluster { cluster in
            let host = try await host(cluster)
            let id = try await host.enqueue(queue: "q", task: "first")
            let first = try #require(try await host.claim(ClaimRequest(hostID: "reporter", max: 1, wait: 5)).jobs.first)
            _ = try await cluster.client.setPaused(.queue, name: "q", paused: true)
            let answer = try await host.report(
                ReportRequest(hostID: "reporter", reports: [JobReport(jobID: id, lease: first.lease, outcome: .completed(["step": 1]))], claim: 1))
            #expect(answer.accepted == 1 && answer.jobs.isEmpty)
            #expect(try await host.graph(id: id).jobs.first { $0.task == "second" }?.status == .queued)
        }
    }

    /// A real host gives the slot of each run it reports to the job that follows, and never runs
    /// more than `--max-tasks` at once, whichever way its jobs reach it.
    @Test func aHostRunsChainsThroughItsReportsWithinItsSlots() async throws {
        try await withCluster { cluster in
            try await cluster.startHost(name: "chains", queue: "test", plugins: ["TestTasks"], maxTasks: 2)
            var overlaps: [String] = []
            for index in 0..<24 {
                if index % 2 == 0 {
                    _ = try await cluster.client.enqueue(queue: "test", task: "chain_first")
                } else {
                    overlaps.append(try await cluster.client.enqueue(queue: "test", task: "overlap", arguments: ["seconds": 0.03]))
                }
            }
            try await waitUntil("every step of every chain and every overlap completes", timeout: .seconds(60)) {
                try await cluster.client.stats(queue: "test")["completed"] == 12 * 3 + 12
            }
            var most = 0
            for id in overlaps {
                guard case .int(let seen) = try await cluster.client.viewResult(id: id).result else {
                    Issue.record("overlap job \(id) has no count")
                    continue
                }
                most = max(most, seen)
            }
            #expect(most >= 1 && most <= 2, "at most 2 runs at once on a host of 2 slots, saw \(most)")
            let (_, metrics) = try await cluster.text("/metrics")
            let handedOut =
                PrometheusText.value(#"easyjobs_jobs_claimed_with_report_total{queue="test",task="chain_second"}"#, in: metrics)
                + PrometheusText.value(#"easyjobs_jobs_claimed_with_report_total{queue="test",task="chain_third"}"#, in: metrics)
            #expect(handedOut > 0, "no chain step reached the host with a report")
        }
    }
}
