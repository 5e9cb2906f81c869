import EasyJobsCore
import Foundation
import Testing

/// The `easyjobs` command as a person uses it: `up`, `run`, `result`.
@Suite(.serialized) struct CommandLineTests {
    /// Runs `easyjobs` to completion and returns its exit status and output.
    func easyjobs(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String, String) {
        let child = try ChildProcess(label: "easyjobs \(arguments.first ?? "")", arguments: arguments, environment: environment)
        while child.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(50))  // let the pipes drain
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

        // cancel: a job that waits for its dependencies is cancelled at once.
        let (_, waiting, _) = try await easyjobs(["run", "ETL", "configure_environment", "--manager", manager])
        let (cancelStatus, cancelOutput, _) = try await easyjobs(["cancel", waiting.trimmingCharacters(in: .whitespacesAndNewlines), "--manager", manager])
        #expect(cancelStatus == 0)
        #expect(cancelOutput == "cancelled\n")
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
}
