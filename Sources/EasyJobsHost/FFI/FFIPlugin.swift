import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch

#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization

/// The tasks of a foreign-language plugin: C functions called through libffi.
///
/// A call blocks the thread it runs on and cannot be interrupted, so it runs on a Dispatch
/// thread, never on the concurrency pool; cancelling a run stops waiting for it but not the
/// function. That is why foreign tasks run in a subprocess child unless the manifest opts out.
final class FFIPlugin: Sendable {
    let functions: [String: FFIFunction]
    private let running = Atomic<UInt64>(0)

    init(functions: [String: FFIFunction]) {
        self.functions = functions
    }

    var inFlight: UInt64 { running.load(ordering: .relaxed) }

    func run(task: String, arguments: Data) async -> RunOutcome {
        guard let function = functions[task] else {
            return .failure(message: "no C function for task '\(task)'", type: "UnknownTask")
        }
        let values: [String: JSONValue]
        do {
            guard case .object(let object) = try JSONValue.decode(arguments) else {
                return .failure(message: "the arguments of '\(task)' are not a JSON object", type: "InvalidArguments")
            }
            values = object
        } catch {
            return .failure(message: "the arguments of '\(task)' are not JSON: \(error.message)", type: "InvalidArguments")
        }
        running.add(1, ordering: .relaxed)
        defer { running.subtract(1, ordering: .relaxed) }
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<JSONValue, FFIFunctionError>, Never>) in
            // Dispatch's threads are reused across calls, and the host's --max-tasks bounds how
            // many block at once.
            DispatchQueue.global().async { continuation.resume(returning: function.call(values)) }
        }
        switch result {
        case .success(let value): return .success(value.encoded())
        case .failure(let error): return .failure(message: "\(task): \(error.message)", type: "FFIError")
        }
    }
}
