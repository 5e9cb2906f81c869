import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

/// The `easyjobs` command as a person uses it: `up`, `run`, `result`.
@Suite(.serialized) struct CommandLineTests {
    /// Runs `easyjobs` to completion and returns its exit status and output.
    func easyjobs(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String, String) {
        let child = try ChildProcess(label: "easyjobs \(arguments.first ?? "")", arguments: arguments, environment: environment)
        try await child.waitForExit()
        return (child.process.terminationStatus, child.stdout, child.stderr)
    }

    @Test func upRunsManagerAndHostTogetherAndTheClientCommandsUseThem() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let plugins = try directory.pluginDirectory(plugins: ["ETL"])
        let port = try freePort()
        let manager = "http://127.0.0.1:\(port)"
        let up = try ChildProcess(
            label: "up",
            arguments: [
                "up", "--port", "\(port)", "--data-dir", directory.url.appendingPathComponent("data").path, "--plugins", plugins.path,
                "--queue", "ETL", "--shutdown-grace", "1",
            ],
            environment: ["EASYJOBS_ETL_SLEEP": "2"])
        defer { Task { await up.stop() } }
        _ = try await up.waitForOutput("EasyJobs is up: API at (http://\\S+),")
        try await waitUntil("the embedded host registers") {
            try await self.easyjobs(["run", "ETL", "transform", "--json", #"{"data": {"a": 1}}"#, "--manager", manager]).0 == 0
        }

        let (status, output, _) = try await easyjobs(["run", "ETL", "extract", "--json", #"{"url": "http://stats"}"#, "--wait", "--manager", manager])
        #expect(status == 0)
        #expect(output == #"{"data":{"a":1,"b":2,"c":3}}"# + "\n")

        let (queuedStatus, id, _) = try await easyjobs(["run", "ETL", "transform", "--json", #"{"data": {"x": 40}}"#, "--manager", manager])
        #expect(queuedStatus == 0)
        let requestID = id.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(requestID.count == 36)
        let (pullStatus, pulled, _) = try await easyjobs(["result", requestID, "--pull", "--manager", manager])
        #expect(pullStatus == 0)
        #expect(pulled == #"{"data":{"x":42}}"# + "\n")
        // Pulled once, gone after.
        let (viewStatus, _, viewError) = try await easyjobs(["result", requestID, "--manager", manager])
        #expect(viewStatus == 1)
        #expect(viewError.contains("already pulled"))

        // cancel: a job held by a paused queue never starts and is cancelled at once.
        let (pauseStatus, _, _) = try await easyjobs(["pause", "--queue", "ETL", "--manager", manager])
        #expect(pauseStatus == 0)
        let (_, held, _) = try await easyjobs(["run", "ETL", "transform", "--json", #"{"data": {"a": 1}}"#, "--manager", manager])
        let (cancelStatus, cancelOutput, _) = try await easyjobs([
            "cancel", held.trimmingCharacters(in: .whitespacesAndNewlines), "--manager", manager,
        ])
        #expect(cancelStatus == 0)
        #expect(cancelOutput == "cancelled\n")
        let (resumeStatus, _, _) = try await easyjobs(["resume", "--queue", "ETL", "--manager", manager])
        #expect(resumeStatus == 0)
        let (missingStatus, _, missingError) = try await easyjobs(["cancel", "no-such-job", "--manager", manager])
        #expect(missingStatus == 1)
        #expect(missingError == "error: no job with request id 'no-such-job'\n")

        let (badStatus, _, badError) = try await easyjobs(["run", "ETL", "extract", "--json", #"{"url": 5}"#, "--manager", manager])
        #expect(badStatus == 1)
        #expect(badError == "error: invalid arguments for task 'extract': argument 'url' must be string, got int\n")

        await up.stop(signal: SIGTERM)
        #expect(!up.isRunning)
        #expect(up.stdout.contains("extract started\nget_data: http://stats\nextract finished\n"))
    }

    @Test func anUnreachableManagerIsOneClearLineAndAFailure() async throws {
        let port = try freePort()
        let (status, output, error) = try await easyjobs(["run", "ETL", "extract", "--manager", "http://127.0.0.1:\(port)"])
        #expect(status == 1)
        #expect(output.isEmpty)
        #expect(error.hasPrefix("error: cannot reach the manager at http://127.0.0.1:\(port)"))
        #expect(error.split(separator: "\n").count == 1)
    }

    @Test func listingCommandsPrintTablesOrJSONAndABadTokenIsOneLineAndAFailure() async throws {
        try await withCluster(apiToken: "cli-token") { cluster in
            try await cluster.startHost(name: "lister", queue: "test", plugins: ["TestTasks"])
            let id = try await cluster.client.enqueue(queue: "test", task: "fail", arguments: ["message": "broken"])
            _ = try await cluster.client.pullResult(id: id, wait: 20)
            let manager = ["--manager", cluster.url, "--api-token", "cli-token"]

            let (jobsStatus, jobs, _) = try await easyjobs(["jobs", "--status", "failed"] + manager)
            #expect(jobsStatus == 0)
            let lines = jobs.split(separator: "\n")
            #expect(lines.first?.hasPrefix("JOB") == true && lines.first?.contains("STATUS") == true)
            #expect(lines.contains { $0.hasPrefix(id) && $0.contains("fail") && $0.contains("failed") })
            #expect(!jobs.contains("\u{1B}["), "no colour when not on a terminal")

            let (jsonStatus, json, _) = try await easyjobs(["jobs", "--json", "--task", "fail"] + manager)
            #expect(jsonStatus == 0)
            #expect(try JSONValue.decode(Data(json.utf8))["jobs"]?[0]?["request_id"] == .string(id))

            let (hostsStatus, hosts, _) = try await easyjobs(["hosts"] + manager)
            #expect(hostsStatus == 0 && hosts.contains("lister") && hosts.contains("online") && hosts.contains("test-tasks 1.0.0"))
            let (tasksStatus, tasks, _) = try await easyjobs(["tasks"] + manager)
            #expect(tasksStatus == 0 && tasks.contains("add(a: int, b: int)"))

            let (retryStatus, retried, _) = try await easyjobs(["retry", id] + manager)
            #expect(retryStatus == 0)
            let newID = retried.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(newID.count == 36 && newID != id)

            let (badStatus, badOut, badError) = try await easyjobs(["jobs", "--manager", cluster.url, "--api-token", "wrong"])
            #expect(badStatus == 1)
            #expect(badOut.isEmpty)
            #expect(badError == "error: the API token is wrong\n")
            let (noTokenStatus, _, noTokenError) = try await easyjobs(["hosts", "--manager", cluster.url])
            #expect(noTokenStatus == 1)
            #expect(noTokenError.hasPrefix("error: this manager needs an API token"))
        }
    }
}
