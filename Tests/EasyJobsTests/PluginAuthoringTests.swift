import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A plugin author's path: `easyjobs plugin new`, an out-of-tree build against this checkout's
/// SDK, `plugin inspect`, and the task running in a host that picks the file up.
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

            let swift =
                ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
                .map { "\($0)/swift" }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/swift"
            let (built, log) = try await run(swift, ["build", "--product", "Greeter"], in: package)
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
}
