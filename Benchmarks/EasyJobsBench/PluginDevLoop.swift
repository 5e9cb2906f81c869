import EasyJobsClient
import EasyJobsCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The plugin author's loop as a new user meets it (issue 18): `plugin new`, then `plugin dev`,
/// then one-line edits. Each edit is timed from the save to the first job whose result comes
/// from the new build, as a user enqueueing it would see.
enum PluginDevLoop {
    static func run(build: URL, edits: Int, release: Bool) async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-bench-dev-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let easyjobs = build.appendingPathComponent("easyjobs")
        let new = Process()
        new.executableURL = easyjobs
        new.arguments = ["plugin", "new", "Greeter", "--path", work.path]
        new.standardOutput = FileHandle.nullDevice
        try new.run()
        new.waitUntilExit()
        guard new.terminationStatus == 0 else { throw BenchmarkError("easyjobs plugin new failed") }
        let package = work.appendingPathComponent("Greeter")
        let source = package.appendingPathComponent("Sources/Greeter/GreeterPlugin.swift")

        let dev = Process()
        dev.executableURL = easyjobs
        dev.arguments = ["plugin", "dev", package.path] + (release ? ["--release"] : [])
        let output = Pipe()
        dev.standardOutput = output
        dev.standardError = FileHandle.nullDevice
        let lines = Mutex<[String]>([])
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            let text = String(decoding: data, as: UTF8.self)
            lines.withLock { $0.append(contentsOf: text.split(separator: "\n").map(String.init)) }
        }
        try dev.run()
        defer {
            // On SIGTERM it ends the manager and host it started.
            kill(dev.processIdentifier, SIGTERM)
            dev.waitUntilExit()
        }
        func waitForLine(_ prefix: String, timeout: Duration) async throws -> String {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let line = lines.withLock({ $0.first { $0.hasPrefix(prefix) } }) { return line }
                guard dev.isRunning else { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            throw BenchmarkError("plugin dev did not print '\(prefix)…'; it printed:\n\(lines.withLock { $0.joined(separator: "\n") })")
        }
        let up = try await waitForLine("EasyJobs is up for development: API at ", timeout: .seconds(120))
        let url = String(up.dropFirst("EasyJobs is up for development: API at ".count).prefix { $0 != "," })
        let cold = ContinuousClock.now
        let first = try await waitForLine("serving greeter v0.1.0+1 ", timeout: .seconds(900))
        print(
            "plugin dev: first (cold) \(release ? "release" : "debug") build served: \(first) (\(String(format: "%.1f", (ContinuousClock.now - cold).seconds)) s after start)"
        )
        let client = ManagerClient(baseURL: url)
        var edited: [Double] = []
        var reported: [Double] = []
        for edit in 1...edits {
            let text = try String(contentsOf: source, encoding: .utf8)
            let marker = "edit \(edit)"
            guard let line = text.range(of: #"return Greeting(text: ""#) else { throw BenchmarkError("the scaffold's return line is not there") }
            let rest = text[line.upperBound...]
            let end = rest.range(of: ", \\(args.name)")!.lowerBound
            try (text[..<line.upperBound] + marker + text[end...]).write(to: source, atomically: true, encoding: .utf8)
            let saved = ContinuousClock.now
            // Enqueue until a result comes from the new build: the first job it serves.
            while true {
                let id = try await client.enqueue(queue: "default", task: "greet", arguments: ["name": "bench"])
                if case .completed(let result) = try await client.pullResult(id: id, wait: 30), result["text"]?.stringValue == "\(marker), bench" {
                    break
                }
                guard ContinuousClock.now - saved < .seconds(300) else { throw BenchmarkError("edit \(edit) was not served within 300 s") }
            }
            edited.append((ContinuousClock.now - saved).seconds)
            let served = try await waitForLine("serving greeter v0.1.0+\(edit + 1) ", timeout: .seconds(60))
            if let seconds = served.split(separator: " ").dropLast().last.flatMap({ Double($0) }) { reported.append(seconds) }
            print(String(format: "plugin dev: edit %d: saved to first job served by the new build in %.2f s (%@)", edit, edited.last!, served))
        }
        print(
            String(
                format:
                    "plugin dev (%@, warm): save to first job served by the new build: p50 %.2f s over %d edits (min %.2f, max %.2f); plugin dev's own figure p50 %.2f s",
                release ? "release" : "debug", edited.percentile(50), edits, edited.min() ?? 0, edited.max() ?? 0, reported.percentile(50)))
    }
}
