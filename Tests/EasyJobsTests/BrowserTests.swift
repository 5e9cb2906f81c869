import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The dashboard and the docs page in headless Chromium, as a person sees them. Screenshots go
/// to `.build/test-artifacts/`.
@Suite(.serialized) struct BrowserTests {
    static let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("browser/drive.py")
    static let artifacts = BuildProducts.directory.deletingLastPathComponent().appendingPathComponent("test-artifacts")

    @Test func theDashboardShowsHostsAJobAndItsPipelineAndATaskRunsFromTheDocsPage() async throws {
        try await withCluster(secret: "test-secret") { cluster in
            try await cluster.startHost(name: "browser-host", queue: "ETL", plugins: ["ETL"], environment: ["EASYJOBS_ETL_SLEEP": "0.05"])
            let id = try await cluster.client.enqueue(queue: "ETL", task: "extract", arguments: ["url": "http://stats"])
            try await waitUntil("the pipeline completes", timeout: .seconds(30)) {
                let graph = try await cluster.client.graph(id: id)
                return graph.jobs.count == 7 && graph.jobs.allSatisfy { $0.status == .completed }
            }

            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", Self.driver.path, cluster.url, id, Self.artifacts.path]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let deadline = ContinuousClock.now + .seconds(90)
            while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let report = try JSONValue.decode(output.fileHandleForReading.readDataToEndOfFile())

            #expect(report["errors"] == [], "the pages logged errors: \(report["errors"]?.jsonString ?? "")")
            let dashboard = report["dashboard"]?.stringValue ?? ""
            #expect(dashboard.contains("browser-host"))
            #expect(dashboard.contains("Job \(id)"))
            #expect(dashboard.contains("\"url\": \"http://stats\""))
            #expect(report["graph_nodes"] == 7)
            // Every view has an address that survives a reload and the back button.
            let addresses = report["addresses"] ?? .null
            let other = addresses["other"]?.stringValue ?? ""
            #expect(!other.isEmpty && other != id)
            #expect(addresses["after_click"]?["hash"]?.stringValue == "#/jobs/\(other)")
            #expect(addresses["after_click"]?["shown"]?.stringValue == other)
            #expect(addresses["after_back"]?["hash"]?.stringValue == "#/jobs/\(id)")
            #expect(addresses["after_back"]?["shown"]?.stringValue == id)
            #expect(addresses["after_reload"]?["shown"]?.stringValue == id)
            #expect(addresses["legacy"]?["hash"]?.stringValue == "#/jobs/\(id)")
            #expect(addresses["legacy"]?["shown"]?.stringValue == id)
            #expect(addresses["task_view"]?["queue"] == "ETL")
            #expect(addresses["task_view"]?["task"] == "extract")
            #expect(addresses["task_view"]?["job_hidden"] == true)
            #expect(addresses["left_while_loading"]?["hash"] == "#/tasks/ETL/extract")
            #expect(addresses["left_while_loading"]?["job_hidden"] == true)
            let listed = addresses["task_view"]?["tasks_listed"]?.arrayValue ?? []
            #expect(!listed.isEmpty && listed.allSatisfy { $0 == "extract" }, "\(listed)")
            #expect(report["docs_sections"]?[0] == "Queue ETL")
            // A task sent from /docs ran, and the page followed it to its result.
            let answer = try JSONValue.decode(Data((report["docs_answer"]?.stringValue ?? "").utf8))
            #expect(answer["status"] == "completed")
            #expect(answer["result"] == ["data": ["a": 42]])
            #expect(FileManager.default.fileExists(atPath: Self.artifacts.appendingPathComponent("dashboard.png").path))
            #expect(FileManager.default.fileExists(atPath: Self.artifacts.appendingPathComponent("docs.png").path))
        }
    }
}
