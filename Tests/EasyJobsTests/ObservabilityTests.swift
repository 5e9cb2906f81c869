import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

/// The live OpenAPI document, the docs page and the Prometheus metrics.
@Suite(.serialized) struct ObservabilityTests {
    /// Checks a document against the OpenAPI 3.1 schema with openapi-spec-validator (PyPI).
    func validateOpenAPI(_ document: JSONValue, in directory: URL) throws -> (Int32, String) {
        let file = directory.appendingPathComponent("openapi-\(UUID().uuidString).json")
        try document.encoded().write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\nprint('valid')", file.path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test func theOpenAPIDocumentIsValidAndShowsANewlyLoadedTaskAtOnce() async throws {
        try await withCluster { cluster in
            let directory = try cluster.directory.pluginDirectory("plugins-docs", plugins: ["ETL"])
            try await cluster.startHost(name: "docs", queue: "ETL", plugins: [], pluginDirectory: directory)
            let (status, document) = try await cluster.request(.GET, "/openapi.json")
            #expect(status == 200)
            let spec = try #require(document)
            #expect(spec["openapi"] == "3.1.0")
            let extract = try #require(spec["paths"]?["/ETL/task/extract"]?["post"])
            let schema = extract["requestBody"]?["content"]?["application/json"]?["schema"]
            #expect(schema?["properties"] == ["url": ["type": "string"]])
            #expect(schema?["required"] == ["url"])
            let (valid, output) = try validateOpenAPI(spec, in: cluster.directory.url)
            #expect(valid == 0, "openapi-spec-validator: \(output)")

            // A plugin dropped in: its tasks are in the next document.
            try PluginFiles.install(try PluginFiles.versioned(3), as: "libVersioned.so", in: directory)
            try await waitUntil("the new task is documented") {
                try await cluster.request(.GET, "/openapi.json").1?["paths"]?["/ETL/task/added_in_2"] != nil
            }
            let after = try #require(try await cluster.request(.GET, "/openapi.json").1)
            #expect(
                after["paths"]?["/ETL/task/added_in_2"]?["post"]?["requestBody"]?["content"]?["application/json"]?["schema"]?["properties"] == [
                    "n": ["type": "integer"]
                ])
            #expect(try validateOpenAPI(after, in: cluster.directory.url).0 == 0)
        }
    }

    @Test func theDocsPageIsServedByTheManagerWithNothingFromOutside() async throws {
        try await withCluster { cluster in
            let (status, page) = try await cluster.text("/docs")
            #expect(status == 200)
            #expect(page.contains("<title>EasyJobs API</title>"))
            #expect(page.contains("fetch(\"/openapi.json\")"))
            #expect(!page.contains("https://"))
            #expect(!page.contains("http://"))
        }
    }

    func value(_ series: String, in text: String) -> Double { PrometheusText.value(series, in: text) }

    func scrape(_ cluster: TestCluster) async throws -> String {
        try await cluster.text("/metrics").1
    }

    @Test func metricsMoveAsJobsRun() async throws {
        // Gauges counted at every scrape: with the default interval the depth read after the
        // jobs could be the one counted before them, and its check could not fail.
        try await withCluster(managerArguments: ["--gauge-interval", "0"]) { cluster in
            try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            let before = try await scrape(cluster)
            for index in 0..<5 {
                let id = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": .int(index), "b": 1])
                _ = try await cluster.client.pullResult(id: id, wait: 20)
            }
            let failing = try await cluster.client.enqueue(queue: "test", task: "fail", arguments: ["message": "no"])
            _ = try await cluster.client.pullResult(id: failing, wait: 20)
            let flaky = try await cluster.client.enqueue(queue: "test", task: "flaky")
            _ = try await cluster.client.pullResult(id: flaky, wait: 20)
            let after = try await scrape(cluster)

            func grew(_ series: String) -> Double { value(series, in: after) - value(series, in: before) }
            #expect(grew(#"easyjobs_jobs_enqueued_total{queue="test",task="add",origin="api"}"#) == 5)
            #expect(grew(#"easyjobs_jobs_started_total{queue="test",task="add"}"#) == 5)
            #expect(grew(#"easyjobs_jobs_succeeded_total{queue="test",task="add"}"#) == 5)
            #expect(grew(#"easyjobs_jobs_failed_total{queue="test",task="fail"}"#) == 1)
            #expect(grew(#"easyjobs_jobs_retried_total{queue="test",task="flaky"}"#) == 1)
            #expect(grew(#"easyjobs_job_run_seconds_count{queue="test",task="add"}"#) == 5)
            #expect(grew(#"easyjobs_queue_wait_seconds_count{queue="test",task="add"}"#) == 5)
            #expect(value("easyjobs_hosts_online", in: after) == 1)
            #expect(after.contains(#"easyjobs_queue_depth{queue="test"} 0"#))
            #expect(after.contains("# TYPE easyjobs_jobs_succeeded_total counter"))
        }
    }

    /// Regression (issue 14): every scrape counted each queue's unfinished jobs, a read of every
    /// queued job's index entry; a client scraping in a loop (the benchmark waits on a counter so)
    /// cost a busy manager a tenth of its CPU. The depth gauges are counted at most once per
    /// `--gauge-interval`; the counters stay exact at every scrape.
    @Test func theDepthGaugesAreCountedOncePerIntervalAndTheCountersAtEveryScrape() async throws {
        try await withCluster(managerArguments: ["--gauge-interval", "2"]) { cluster in
            try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            _ = try await cluster.client.setPaused(.queue, name: "test", paused: true)
            for index in 0..<3 { _ = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": .int(index), "b": 1]) }
            let first = try await scrape(cluster)
            #expect(value(#"easyjobs_queue_depth{queue="test"}"#, in: first) == 3)

            for index in 0..<2 { _ = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": .int(index), "b": 2]) }
            let soon = try await scrape(cluster)
            // Within the interval: the gauge as last counted, the counter as it is.
            #expect(value(#"easyjobs_queue_depth{queue="test"}"#, in: soon) == 3)
            #expect(value(#"easyjobs_jobs_enqueued_total{queue="test",task="add",origin="api"}"#, in: soon) == 5)

            try await Task.sleep(for: .seconds(2.2))
            let later = try await scrape(cluster)
            #expect(value(#"easyjobs_queue_depth{queue="test"}"#, in: later) == 5)
        }
    }
}
