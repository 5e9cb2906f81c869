import EasyJobsCore
import EasyJobsHost
import Foundation

/// What one call of a no-op task costs inside a host, without HTTP or the store: a Swift
/// plugin's task (through the SDK's C descriptor) against a C function (through libffi).
enum CallOverhead {
    static func run(build: URL, calls: Int, batches: Int) async throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-bench-calls-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: cache) }
        let loader = DynamicLibraryLoader(cacheDirectory: cache)
        let swift = try loader.loadInProcess(file: build.appendingPathComponent("libTestTasks.so"))
        let foreign = try loader.loadInProcess(file: build.appendingPathComponent("libCMathPlugin.so"))
        let invocation = TaskInvocation(jobID: "bench", arguments: Data("{}".utf8), context: Data(#"{"job_id":"bench"}"#.utf8), onLog: { _ in })
        for (label, plugin) in [("Swift SDK (C descriptor)", swift), ("C through libffi", foreign)] {
            var perCall: [Double] = []
            for _ in 0..<batches {
                let start = ContinuousClock.now
                for _ in 0..<calls {
                    guard case .success = await plugin.run(task: "noop", invocation: invocation) else {
                        throw BenchmarkError("\(label): noop failed")
                    }
                }
                perCall.append((ContinuousClock.now - start).seconds / Double(calls) * 1e6)
            }
            print(
                String(
                    format: "no-op call in the host, %@: median %.2f µs per call over %d batches of %d (min %.2f, max %.2f)", label,
                    perCall.percentile(50), batches, calls, perCall.min() ?? 0, perCall.max() ?? 0))
        }
    }
}
