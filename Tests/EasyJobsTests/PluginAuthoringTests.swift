import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A plugin author's path: `easyjobs plugin new`, an out-of-tree build against this checkout's
/// SDK, `plugin inspect`, and the task running in a host that picks the file up.
/// Where the tests find the tools a plugin author uses.
enum ToolPaths {
    static let swift =
        ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
        .map { "\($0)/swift" }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/swift"
}

@Suite(.serialized) struct PluginAuthoringTests {
    func run(_ executable: String, _ arguments: [String], in directory: URL? = nil, timeout: Duration = .seconds(600)) async throws -> (Int32, String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let collected = OutputBuffer()
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            collected.append(data)
        }
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        // What it wrote last is read once the pipe reports its end.
        let drained = ContinuousClock.now + .seconds(10)
        while !collected.ended && ContinuousClock.now < drained { try await Task.sleep(for: .milliseconds(10)) }
        return (process.terminationStatus, collected.text)
    }

    @Test func aNewPluginBuildsOutOfTreeAndRunsInAHost() async throws {
        try await withCluster { cluster in
            let workspace = try cluster.directory.subdirectory("authoring")
            let (created, message) = try await run(BuildProducts.easyjobs.path, ["plugin", "new", "Greeter", "--path", workspace.path])
            #expect(created == 0, "\(message)")
            let package = workspace.appendingPathComponent("Greeter")
            #expect(FileManager.default.fileExists(atPath: package.appendingPathComponent("Package.swift").path))

            let (built, log) = try await run(ToolPaths.swift, ["build", "--product", "Greeter"], in: package)
            #expect(built == 0, "swift build failed:\n\(log.suffix(3000))")
            let library = package.appendingPathComponent(".build/debug/libGreeter.so")

            let (inspected, description) = try await run(BuildProducts.easyjobs.path, ["plugin", "inspect", library.path])
            #expect(inspected == 0)
            #expect(description.contains("greeter 0.1.0  ABI 1.2"))
            #expect(description.contains("greet(name: string)"))

            let plugins = try cluster.directory.subdirectory("plugins-authoring")
            let host = try await cluster.startHost(name: "author", queue: "hello", plugins: [], pluginDirectory: plugins)
            try FileManager.default.copyItem(at: library, to: plugins.appendingPathComponent(".libGreeter.so.tmp"))
            #expect(rename(plugins.appendingPathComponent(".libGreeter.so.tmp").path, plugins.appendingPathComponent("libGreeter.so").path) == 0)
            // Generous: on a fresh clone this test runs while the rest of the suite loads both cores.
            do {
                try await waitUntil("the new plugin serves", timeout: .seconds(120)) {
                    try await cluster.client.hosts().first { $0.name == "author" }?.plugins.contains { $0.name == "greeter" } == true
                }
            } catch {
                let refused = try? await cluster.client.hosts().first { $0.name == "author" }?.refused.map(\.reason)
                Issue.record("the plugin never served; refused: \(String(describing: refused)); host log: \(host.stderr.suffix(3000))")
                throw error
            }
            let id = try await cluster.client.enqueue(queue: "hello", task: "greet", arguments: ["name": "world"])
            #expect(try await cluster.client.pullResult(id: id, wait: 20) == .completed(["text": "hello, world"]))
            #expect(host.stdout.contains("hello, world"))
        }
    }

    /// The loop of issue 18: `plugin dev` builds the new package, serves it from an `easyjobs up`
    /// of its own, and serves each saved edit, keeping the last good build through a broken one.
    @Test func pluginDevServesEachSavedEditAndKeepsTheLastGoodBuild() async throws {
        let workspace = try TemporaryDirectory()
        let (created, message) = try await run(BuildProducts.easyjobs.path, ["plugin", "new", "Greeter", "--path", workspace.url.path])
        #expect(created == 0, "\(message)")
        let package = workspace.url.appendingPathComponent("Greeter")
        let source = package.appendingPathComponent("Sources/Greeter/GreeterPlugin.swift")
        let dev = try ChildProcess(label: "plugin dev", arguments: ["plugin", "dev", package.path])
        // On SIGTERM it ends the manager and host it started; a failure below must not leave them running.
        defer { if dev.isRunning { kill(dev.pid, SIGTERM) } }
        let url = try await dev.waitForOutput(#"EasyJobs is up for development: API at (http://127\.0\.0\.1:[0-9]+)"#, timeout: .seconds(120))
        let client = ManagerClient(baseURL: url)
        // A cold build of the SDK and swift-log: generous on a loaded machine.
        let first = try await dev.waitForOutput(#"serving greeter v0\.1\.0\+1 \(sha ([0-9a-f]{12})\)"#, timeout: .seconds(600))
        #expect(
            try await client.pullResult(id: try await client.enqueue(queue: "default", task: "greet", arguments: ["name": "Ada"]), wait: 30)
                == .completed(["text": "hello, Ada"]))

        // The scaffold depends on the SDK alone: swift-log is all it resolved.
        let resolved = try String(contentsOf: package.appendingPathComponent("Package.resolved"), encoding: .utf8)
        #expect(resolved.contains("swift-log") && !resolved.contains("hummingbird") && !resolved.contains("grdb"), "\(resolved)")

        // Edit one: served by the new build, whose sha the job names.
        try (try String(contentsOf: source, encoding: .utf8)).replacingOccurrences(of: "Greeting(text: \"hello, ", with: "Greeting(text: \"hi, ")
            .write(to: source, atomically: true, encoding: .utf8)
        let second = try await dev.waitForOutput(#"serving greeter v0\.1\.0\+2 \(sha ([0-9a-f]{12})\)"#, timeout: .seconds(300))
        #expect(second != first)
        let id = try await client.enqueue(queue: "default", task: "greet", arguments: ["name": "Bo"])
        #expect(try await client.pullResult(id: id, wait: 30) == .completed(["text": "hi, Bo"]))
        let job = try #require(try await client.list(task: "greet", limit: 10).jobs.first { $0.requestID == id })
        #expect(job.plugin?.sha256.hasPrefix(second) == true)

        // A broken edit: its errors are printed, and the last good build keeps serving.
        try (try String(contentsOf: source, encoding: .utf8) + "\nnot swift(\n").write(to: source, atomically: true, encoding: .utf8)
        _ = try await dev.waitForOutput(#"build failed \(([0-9]+) errors?\); still serving the last good build"#, timeout: .seconds(300))
        #expect(dev.stderr.contains("GreeterPlugin.swift"), "\(dev.stderr.suffix(2000))")
        #expect(
            try await client.pullResult(id: try await client.enqueue(queue: "default", task: "greet", arguments: ["name": "Cy"]), wait: 30)
                == .completed(["text": "hi, Cy"]))

        // Edit two, mending it: the new build serves.
        try (try String(contentsOf: source, encoding: .utf8)).replacingOccurrences(of: "\nnot swift(\n", with: "")
            .replacingOccurrences(of: "Greeting(text: \"hi, ", with: "Greeting(text: \"hey, ").write(to: source, atomically: true, encoding: .utf8)
        _ = try await dev.waitForOutput(#"serving greeter v0\.1\.0\+3 \(sha ([0-9a-f]{12})\)"#, timeout: .seconds(300))
        #expect(
            try await client.pullResult(id: try await client.enqueue(queue: "default", task: "greet", arguments: ["name": "Di"]), wait: 30)
                == .completed(["text": "hey, Di"]))

        // A build a host would refuse is not installed; the reason is printed.
        let mended = try String(contentsOf: source, encoding: .utf8)
        try mended.replacingOccurrences(
            of: "let greeter = Plugin(name: \"greeter\", version: \"0.1.0\") {",
            with: "let greeter = Plugin(name: \"greeter\", version: \"0.1.0\") {\n    TaskDefinition(\"greet\") { (_: GreetArguments, _) in }"
        ).write(to: source, atomically: true, encoding: .utf8)
        let reason = try await dev.waitForOutput(#"refused: (.*)"#, timeout: .seconds(300))
        #expect(reason.contains("task 'greet' is declared twice"), "\(reason)")
        #expect(
            try await client.pullResult(id: try await client.enqueue(queue: "default", task: "greet", arguments: ["name": "Ed"]), wait: 30)
                == .completed(["text": "hey, Ed"]))

        // Stopped, it ends the manager and host it started.
        await dev.stop(signal: SIGTERM)
        #expect(!dev.isRunning)
        try await waitUntil("the development manager is gone", timeout: .seconds(20)) { (try? await client.health()) != true }
    }

    /// `plugin test` runs one task of a built plugin without a manager, as a plugin's own CI would.
    @Test func pluginTestRunsOneTaskAloneAndSaysHowItEnded() async throws {
        let tasks = BuildProducts.directory.appendingPathComponent("libTestTasks.so").path
        var (status, output) = try await run(BuildProducts.easyjobs.path, ["plugin", "test", tasks, "add", "--json", #"{"a": 2, "b": 3}"#])
        #expect(status == 0 && output.contains("result: 5"), "\(output)")
        (status, output) = try await run(BuildProducts.easyjobs.path, ["plugin", "test", tasks, "fan_out", "--json", "{}"])
        #expect(status == 0 && output.contains("enqueue add") && output.contains("result: [\"plugin-test-enqueue-1\""), "\(output)")
        (status, output) = try await run(BuildProducts.easyjobs.path, ["plugin", "test", tasks, "progress_steps", "--json", #"{"seconds": 0}"#])
        #expect(status == 0 && output.contains("progress 50%: halfway") && output.contains("result: 2"), "\(output)")
        (status, output) = try await run(BuildProducts.easyjobs.path, ["plugin", "test", tasks, "add", "--json", #"{"a": "two"}"#])
        #expect(status == 2 && output.contains("argument 'a' must be int"), "\(output)")
        (status, output) = try await run(BuildProducts.easyjobs.path, ["plugin", "test", tasks, "nope"])
        #expect(status == 2 && output.contains("has no task 'nope'"), "\(output)")
        let crashers = BuildProducts.directory.appendingPathComponent("libCrashers.so").path
        (status, output) = try await run(BuildProducts.easyjobs.path, ["plugin", "test", crashers, "unwrap_nil"])
        #expect(status == 1 && output.contains("crashed: task 'unwrap_nil' killed its process"), "\(output.suffix(500))")
        // Regression: the task's limits were not set, so hog_memory ate the machine's memory
        // until the kernel killed it (117 s here) where a host fails it at its 1024 MiB.
        (status, output) = try await run(BuildProducts.easyjobs.path, ["plugin", "test", crashers, "hog_memory"], timeout: .seconds(60))
        #expect(status == 1 && output.contains("limits: memory 1024 MiB") && output.contains("failed to allocate"), "\(output.suffix(500))")
        (status, output) = try await run(BuildProducts.easyjobs.path, ["plugin", "test", crashers, "burn_cpu"], timeout: .seconds(60))
        #expect(status == 1 && output.contains("exceeded its CPU time limit"), "\(output.suffix(500))")
        let cmath = BuildProducts.directory.appendingPathComponent("libCMathPlugin.so").path
        (status, output) = try await run(BuildProducts.easyjobs.path, ["plugin", "test", cmath, "add", "--json", #"{"a": 40}"#])
        #expect(status == 0 && output.contains("result: 41"), "\(output)")
    }

    /// `plugin new --lang c`: a package of plain C and its manifest, with the same loop: `plugin dev`
    /// serves it and each saved edit, `plugin test` runs its task.
    @Test func aNewCPluginGoesThroughTheSameLoop() async throws {
        let workspace = try TemporaryDirectory()
        let (created, message) = try await run(BuildProducts.easyjobs.path, ["plugin", "new", "Adder", "--lang", "c", "--path", workspace.url.path])
        #expect(created == 0, "\(message)")
        let package = workspace.url.appendingPathComponent("Adder")
        let source = package.appendingPathComponent("Sources/Adder/adder.c")
        let dev = try ChildProcess(label: "plugin dev (C)", arguments: ["plugin", "dev", package.path])
        defer { if dev.isRunning { kill(dev.pid, SIGTERM) } }
        let url = try await dev.waitForOutput(#"EasyJobs is up for development: API at (http://127\.0\.0\.1:[0-9]+)"#, timeout: .seconds(120))
        _ = try await dev.waitForOutput(#"serving adder v0\.1\.0\+1 \(sha ([0-9a-f]{12})\)"#, timeout: .seconds(300))
        let client = ManagerClient(baseURL: url)
        // The manifest's default fills b; the task runs in a child, as foreign code does by default.
        #expect(
            try await client.pullResult(id: try await client.enqueue(queue: "default", task: "add", arguments: ["a": 41]), wait: 30) == .completed(42)
        )

        try (try String(contentsOf: source, encoding: .utf8)).replacingOccurrences(
            of: "return (int64_t)((uint64_t)a + (uint64_t)b);", with: "return (int64_t)((uint64_t)a + (uint64_t)b) * 10;"
        ).write(to: source, atomically: true, encoding: .utf8)
        _ = try await dev.waitForOutput(#"serving adder v0\.1\.0\+2 \(sha ([0-9a-f]{12})\)"#, timeout: .seconds(300))
        #expect(
            try await client.pullResult(id: try await client.enqueue(queue: "default", task: "add", arguments: ["a": 41]), wait: 30)
                == .completed(420))

        let (status, output) = try await run(
            BuildProducts.easyjobs.path,
            ["plugin", "test", package.appendingPathComponent(".build/debug/libAdder.so").path, "add", "--json", #"{"a": 2, "b": 40}"#])
        #expect(status == 0 && output.contains("result: 420"), "\(output)")
        await dev.stop(signal: SIGTERM)
        #expect(!dev.isRunning)
    }

    @Test func pluginNewRefusesAnSDKItCannotUse() async throws {
        let workspace = try TemporaryDirectory()
        let (status, output) = try await run(
            BuildProducts.easyjobs.path, ["plugin", "new", "Greeter", "--path", workspace.url.path, "--sdk", workspace.url.path])
        #expect(status != 0 && output.contains("is not the EasyJobs SDK"), "\(output)")
        let (fromURL, _) = try await run(
            BuildProducts.easyjobs.path, ["plugin", "new", "Remote", "--path", workspace.url.path, "--sdk", "https://example.com/easyjobs-sdk.git"])
        #expect(fromURL == 0)
        let manifest = try String(contentsOf: workspace.url.appendingPathComponent("Remote/Package.swift"), encoding: .utf8)
        #expect(manifest.contains(#".package(url: "https://example.com/easyjobs-sdk.git", from: "0.1.0")"#))
        #expect(manifest.contains(#".product(name: "EasyJobsSDK", package: "easyjobs-sdk")"#))
    }
}
