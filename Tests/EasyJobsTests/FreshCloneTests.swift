import Foundation
import Testing

/// What a new user meets first (issue 17): a benchmark that says what it misses, and a build that
/// says on which system it runs.
@Suite struct FreshCloneTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `easyjobs-bench` alone in a directory (as one `--product` flag leaves it) names the files it
    /// needs and the command that builds them, instead of failing on the first missing file.
    @Test func theBenchmarkNamesWhatIsMissingAndHowToBuildIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-lonely-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bench = directory.appendingPathComponent("easyjobs-bench")
        try FileManager.default.copyItem(at: BuildProducts.directory.appendingPathComponent("easyjobs-bench"), to: bench)

        let process = Process()
        process.executableURL = bench
        process.arguments = ["--jobs", "10", "--runs", "1"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0)
        #expect(message.contains("easyjobs, easyjobs-host, libTestTasks.so, libVersioned.so not found"), "\(message)")
        #expect(message.contains("scripts/bench.sh"), "\(message)")
    }

    /// The host uses Linux calls; a build elsewhere must stop with that reason at once, not at the
    /// first missing symbol deep in the host.
    @Test func aBuildOffLinuxStopsWithTheReason() throws {
        let host = Self.root.appendingPathComponent("Sources/EasyJobsHost")
        let files = try FileManager.default.subpathsOfDirectory(atPath: host.path).filter { $0.hasSuffix(".swift") }
        let sources = try files.map { try String(contentsOf: host.appendingPathComponent($0), encoding: .utf8) }
        // The host does depend on Linux: the guard is there for a reason.
        #expect(sources.contains { $0.contains("inotify_") })
        let guarded = sources.contains { $0.contains("#if !os(Linux)") && $0.contains("#error(") && $0.contains("Linux only") }
        #expect(guarded, "no #error guard for non-Linux builds in Sources/EasyJobsHost")
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("EasyJobs runs on **Linux**"))
    }
}
