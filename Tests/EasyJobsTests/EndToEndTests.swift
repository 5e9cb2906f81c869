import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real manager, real hosts and real plugins, over HTTP on 127.0.0.1.
@Suite(.serialized) struct EndToEndTests {
    static let fastETL = ["EASYJOBS_ETL_SLEEP": "0.05"]

    @Test func etlTasksRunAndResultsAreViewedAndPulled() async throws {
        try await withCluster() { cluster in
            let host = try await cluster.startHost(name: "etl-1", queue: "ETL", plugins: ["ETL"], environment: Self.fastETL)
            let client = cluster.client

            let id = try await client.enqueue(queue: "ETL", task: "extract", arguments: ["url": "http://stats"])
            let pulled = try await client.pullResult(id: id, wait: 20)
            #expect(pulled == .completed(["data": ["a": 1, "b": 2, "c": 3]]))
            // A pulled result is consumed.
            await #expect(throws: EasyJobsError.self) { _ = try await client.viewResult(id: id) }
            let again = try await cluster.request(.GET, "/job/view/result?request_id=\(id)")
            #expect(again.0 == 410)
            #expect(again.1?["error"]?["code"] == "result_consumed")

            let transformed = try await client.enqueue(queue: "ETL", task: "transform", arguments: ["data": ["a": 1, "b": 2, "c": 3]])
            try await waitUntil("transform completes") { try await client.viewResult(id: transformed).status == .completed }
            let view = try await client.viewResult(id: transformed)
            #expect(view.result == ["data": ["a": 3, "b": 4, "c": 5]])
            #expect(view.host == "etl-1")
            #expect(view.attempts == 1)
            #expect(try await client.jobs("results", queue: "ETL").jobs.contains { $0.requestID == transformed })

            // The seed's output, line for line, from the host.
            try await waitUntil("host prints") { host.stdout.contains("transform finished") }
            #expect(host.stdout.contains("extract started\nget_data: http://stats\nextract finished\n"))
        }
    }

    @Test func aFailingTaskReportsItsErrorAndDefaultsAreApplied() async throws {
        try await withCluster() { cluster in
            try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            let client = cluster.client

            let failing = try await client.enqueue(queue: "test", task: "fail", arguments: ["message": "disk on fire"])
            let outcome = try await client.pullResult(id: failing, wait: 20)
            guard case .failed(let error) = outcome else {
                Issue.record("expected a failure, got \(outcome)")
                return
            }
            #expect(error.message == "disk on fire")

            let sleeper = try await client.enqueue(queue: "test", task: "sleep", arguments: [:])
            #expect(try await client.viewResult(id: sleeper).args == ["seconds": 1])
            #expect(try await client.pullResult(id: sleeper, wait: 20) == .completed(1))

            let typed: JSONValue = ["text": "t", "count": 2, "ratio": 0.5, "flag": true, "object": ["k": "v"], "list": [1, "2"]]
            let typedID = try await client.enqueue(queue: "test", task: "typed", arguments: typed)
            #expect(try await client.pullResult(id: typedID, wait: 20) == .completed(typed))
        }
    }

    /// A task that computes without ever suspending still sees its timeout's cancellation, and
    /// the thread it held is free again for the next job.
    @Test func aTaskThatNeverSuspendsIsStoppedByItsTimeout() async throws {
        try await withCluster() { cluster in
            try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            let spin = try await cluster.client.enqueue(queue: "test", task: "spin")
            let outcome = try await cluster.client.pullResult(id: spin, wait: 40)
            guard case .failed(let error) = outcome else {
                Issue.record("expected the timeout to stop the run, got \(outcome)")
                return
            }
            #expect(error.message == "timed out after 1 s")
            // The host's thread is free again: the next job runs.
            let next = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": 1, "b": 2])
            #expect(try await cluster.client.pullResult(id: next, wait: 20) == .completed(3))
        }
    }

    @Test func tasksAreRegisteredWithTheirDerivedSignatures() async throws {
        try await withCluster() { cluster in
            try await cluster.startHost(name: "etl", queue: "ETL", plugins: ["ETL"])
            let (status, body) = try await cluster.request(.GET, "/tasks")
            #expect(status == 200)
            guard case .array(let queues) = body, let etl = queues.first(where: { $0["queue"] == "ETL" }),
                case .array(let tasks) = etl["tasks"]
            else {
                Issue.record("unexpected /tasks body: \(String(describing: body))")
                return
            }
            let names = Set(tasks.compactMap { $0["name"]?.stringValue })
            #expect(
                names == [
                    "extract", "transform", "load", "failure_notify", "deploy_environment", "prepare_db", "configure_environment", "compute",
                    "pipeline",
                ])
            let extract = tasks.first { $0["name"] == "extract" }
            #expect(extract?["parameters"] == [["name": "url", "type": "string", "required": true]])
            #expect(extract?["options"]?["run_after"] == ["transform"])
            #expect(extract?["options"]?["schedule"] == "* * * * *")
            #expect(extract?["options"]?["default_args"] == ["url": "http://stats"])
            let compute = tasks.first { $0["name"] == "compute" }
            #expect(compute?["options"]?["subprocess"] == true)
            #expect(compute?["options"]?["run_before"] == ["configure_environment"])
        }
    }

    @Test func incompatibleAndForeignPluginsAreRefusedWhileTheGoodOneServes() async throws {
        try await withCluster() { cluster in
            let directory = try cluster.directory.pluginDirectory("mixed", plugins: ["ETL", "IncompatibleABI", "NotAPlugin"])
            try Data("this is not an ELF file".utf8).write(to: directory.appendingPathComponent("garbage.so"))
            let host = try await cluster.startHost(name: "mixed", queue: "ETL", plugins: [], pluginDirectory: directory)

            let hosts = try await cluster.client.hosts()
            let mixed = try #require(hosts.first { $0.name == "mixed" })
            #expect(mixed.plugins.map(\.name) == ["etl"])
            let reasons = Dictionary(uniqueKeysWithValues: mixed.refused.map { ($0.file, $0.reason) })
            #expect(reasons["libIncompatibleABI.so"] == "libIncompatibleABI.so: plugin ABI 2.0, host supports 1.x")
            #expect(reasons["libNotAPlugin.so"]?.contains("no EasyJobs entry point easyjobs_plugin_entry_v1") == true)
            #expect(reasons["garbage.so"]?.contains("not a loadable shared library") == true)
            #expect(host.stderr.contains("plugin ABI 2.0, host supports 1.x"))

            let id = try await cluster.client.enqueue(queue: "ETL", task: "extract", arguments: ["url": "u"])
            #expect(try await cluster.client.pullResult(id: id, wait: 20) == .completed(["data": ["a": 1, "b": 2, "c": 3]]))
            #expect(host.isRunning)
        }
    }

    @Test func aRestartedManagerKeepsQueuedJobsAndResults() async throws {
        try await withCluster() { cluster in
            let host = try await cluster.startHost(name: "first", queue: "test", plugins: ["TestTasks"])
            let done = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": 2, "b": 3])
            try await waitUntil("add completes") { try await cluster.client.viewResult(id: done).status == .completed }
            await host.stop()

            // No host serves the task now: refused, unless asked to queue anyway.
            await #expect(throws: EasyJobsError.self) {
                _ = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": 1, "b": 1])
            }
            var queued: [String] = []
            for index in 0..<3 {
                queued.append(
                    try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": .int(index), "b": 10], queueAnyway: true))
            }
            #expect(try await cluster.client.viewResult(id: queued[0]).note == "no host serves this task")
            await cluster.manager.stop()
            try await cluster.startManager()

            #expect(try await cluster.client.viewResult(id: done).result == 5)
            for id in queued {
                #expect(try await cluster.client.viewResult(id: id).status == .queued)
            }
            try await cluster.startHost(name: "second", queue: "test", plugins: ["TestTasks"])
            for (index, id) in queued.enumerated() {
                #expect(try await cluster.client.pullResult(id: id, wait: 20) == .completed(.int(index + 10)))
            }
        }
    }

    @Test func aJobOfAKilledHostRunsAgainOnAnotherOnceItsLeaseRunsOut() async throws {
        try await withCluster(managerArguments: ["--lease", "2"]) { cluster in
            let doomed = try await cluster.startHost(name: "doomed", queue: "test", plugins: ["TestTasks"])
            let id = try await cluster.client.enqueue(queue: "test", task: "sleep", arguments: ["seconds": 3])
            try await waitUntil("the job runs on the doomed host") { try await cluster.client.viewResult(id: id).status == .running }
            await doomed.stop(signal: SIGKILL)
            #expect(!doomed.isRunning)

            try await cluster.startHost(name: "rescuer", queue: "test", plugins: ["TestTasks"])
            #expect(try await cluster.client.pullResult(id: id, wait: 30) == .completed(3))
            #expect(cluster.manager.stderr.contains("lease ran out: job handed back to the queue"))
        }
    }

    @Test func aGracefulHostStopFinishesItsRunningJob() async throws {
        try await withCluster() { cluster in
            let host = try await cluster.startHost(name: "leaving", queue: "test", plugins: ["TestTasks"])
            let id = try await cluster.client.enqueue(queue: "test", task: "sleep", arguments: ["seconds": 1])
            // Started on the host, not only claimed: a claim whose answer a stop cuts off is handed
            // back by the host's goodbye (its try refunded), which is another test's subject.
            try await waitUntil("the job runs on the host") {
                try await cluster.client.log(id: id).lines.contains { $0.line.contains("sleeping") }
            }
            await host.stop(signal: SIGTERM)
            let view = try await cluster.client.viewResult(id: id)
            #expect(view.status == .completed)
            #expect(view.attempts == 1)
        }
    }

    @Test func aHostKeepsItsJobWhileTheManagerIsAwayAndReportsWhenItReturns() async throws {
        try await withCluster(port: try freePort()) { cluster in
            try await cluster.startHost(name: "patient", queue: "test", plugins: ["TestTasks"])
            let id = try await cluster.client.enqueue(queue: "test", task: "sleep", arguments: ["seconds": 2])
            try await waitUntil("the job runs") { try await cluster.client.viewResult(id: id).status == .running }
            await cluster.manager.stop()
            try await Task.sleep(for: .seconds(2.5))
            try await cluster.startManager()
            try await waitUntil("the result arrives after the manager is back") {
                try await cluster.client.viewResult(id: id).status == .completed
            }
            let view = try await cluster.client.viewResult(id: id)
            #expect(view.result == 2)
            #expect(view.attempts == 1)
            // The host went on claiming after it reconnected.
            let next = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": 20, "b": 22])
            #expect(try await cluster.client.pullResult(id: next, wait: 20) == .completed(42))
        }
    }
}
