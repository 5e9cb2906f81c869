#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CEasyJobsABI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The plugin's side of the C ABI: builds the descriptor and runs tasks for the host.
///
/// Each plugin `.so` links its own copy of the SDK, so `shared` is per plugin, which is what
/// we want: a plugin's runs and in-flight count are its own.
final class PluginRuntime: Sendable {
    static let shared = PluginRuntime()

    private struct Descriptor: @unchecked Sendable {
        // Allocated once and never freed: the host may read it for the life of the process.
        let pointer: UnsafePointer<easyjobs_plugin_descriptor>
    }

    private struct State {
        var plugin: Plugin?
        var descriptor: Descriptor?
        var runs: [UInt64: Task<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    func export(_ plugin: Plugin) -> UnsafePointer<easyjobs_plugin_descriptor> {
        state.withLock { state in
            if let descriptor = state.descriptor { return descriptor.pointer }
            state.plugin = plugin
            let pointer = Self.makeDescriptor(plugin)
            state.descriptor = Descriptor(pointer: pointer)
            return pointer
        }
    }

    private static func makeDescriptor(_ plugin: Plugin) -> UnsafePointer<easyjobs_plugin_descriptor> {
        let tasks: [JSONValue] = plugin.tasks.map { task in
            do {
                return try task.json()
            } catch {
                // The host refuses the plugin and shows this reason.
                return ["name": .string(task.name), "error": .string("\(error)")]
            }
        }
        let tasksJSON = (try? JSONEncoder().encode(JSONValue.array(tasks))) ?? Data("[]".utf8)
        let tasksBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: tasksJSON.count)
        tasksJSON.copyBytes(to: tasksBytes, count: tasksJSON.count)

        let descriptor = UnsafeMutablePointer<easyjobs_plugin_descriptor>.allocate(capacity: 1)
        descriptor.initialize(
            to: easyjobs_plugin_descriptor(
                magic: EASYJOBS_DESCRIPTOR_MAGIC,
                struct_size: UInt32(MemoryLayout<easyjobs_plugin_descriptor>.size),
                abi_major: UInt16(EASYJOBS_ABI_MAJOR),
                abi_minor: UInt16(EASYJOBS_ABI_MINOR),
                sdk_version: strdup(BuildInfo.sdkVersion),
                swift_version: strdup(BuildInfo.swiftVersion),
                target: strdup(BuildInfo.target),
                plugin_name: strdup(plugin.name),
                plugin_version: strdup(plugin.version),
                tasks_json: UnsafePointer(tasksBytes),
                tasks_json_len: tasksJSON.count,
                start_task: ABIThunks.start,
                cancel_task: ABIThunks.cancel,
                in_flight: ABIThunks.inFlight
            ))
        return UnsafePointer(descriptor)
    }

    func start(taskIndex: UInt32, run: easyjobs_run) -> Int32 {
        let definition: TaskDefinition? = state.withLock { state in
            guard let plugin = state.plugin, Int(taskIndex) < plugin.tasks.count else { return nil }
            return plugin.tasks[Int(taskIndex)]
        }
        guard let definition else { return 1 }

        let jobID = String(cString: run.job_id)
        let input = run.args.map { Data(bytes: $0, count: run.args_len) } ?? Data("{}".utf8)
        let info = run.context.flatMap { RunInfo(UnsafeRawBufferPointer(start: $0, count: run.context_len)) }
        // ABI 1.1 added `call`; a 1.0 host's run struct ends before it.
        let callOffset = MemoryLayout<easyjobs_run>.offset(of: \.call) ?? Int.max
        let call = Int(run.struct_size) >= callOffset + MemoryLayout<easyjobs_call_fn?>.size ? run.call : nil
        // ABI 1.2 added `request`.
        let requestOffset = MemoryLayout<easyjobs_run>.offset(of: \.request) ?? Int.max
        let request = Int(run.struct_size) >= requestOffset + MemoryLayout<easyjobs_request_fn?>.size ? run.request : nil
        let sink = HostSink(context: run.host_ctx, log: run.log, call: call, request: request)
        let complete = CompletionFunction(function: run.complete)
        let runID = run.run_id
        let context = TaskContext(
            jobID: jobID, queue: info?.queue ?? "", task: definition.name, attempt: info?.attempt ?? 1,
            dependencies: info?.dependencies ?? [:], sink: sink)

        state.withLock { state in
            // Created under the lock so the task cannot remove itself before it is registered.
            state.runs[runID] = Task {
                let (status, bytes) = await Self.execute(definition, input: input, context: context)
                sink.complete(complete.function, status: status, bytes)
                _ = self.state.withLock { $0.runs.removeValue(forKey: runID) }
            }
        }
        return 0
    }

    private static func execute(_ definition: TaskDefinition, input: Data, context: TaskContext) async -> (easyjobs_status, [UInt8]) {
        do {
            let output = try await definition.body(input, context)
            return (EASYJOBS_STATUS_SUCCESS, Array(output))
        } catch {
            let cancelled = error is CancellationError || Task.isCancelled
            let failure: RunFailure
            if let error = error as? TaskFailure {
                failure = RunFailure(message: error.message, type: error.type)
            } else if cancelled {
                failure = RunFailure(message: "cancelled", type: "CancellationError")
            } else {
                failure = RunFailure(message: "\(error)", type: "\(type(of: error))")
            }
            let bytes = (try? JSONEncoder().encode(failure)).map(Array.init) ?? Array(#"{"message":"unknown error"}"#.utf8)
            return (cancelled ? EASYJOBS_STATUS_CANCELLED : EASYJOBS_STATUS_FAILURE, bytes)
        }
    }

    func cancel(runID: UInt64) {
        state.withLock { $0.runs[runID] }?.cancel()
    }

    func inFlight() -> UInt64 {
        state.withLock { UInt64($0.runs.count) }
    }
}

/// The part of the run's context JSON the SDK reads.
private struct RunInfo {
    var queue: String?
    var attempt: Int?
    var dependencies: [String: JSONValue]?

    /// Read with the SDK's own parser, not Foundation's `JSONDecoder`, which took about 4 % of a
    /// busy host's time in a run of no-op jobs. Nil when the context is not a JSON object.
    init?(_ bytes: UnsafeRawBufferPointer) {
        guard case .object(let object) = try? JSONValue.read(bytes) else { return nil }
        queue = object["queue"]?.stringValue
        if case .int(let attempt) = object["attempt"] { self.attempt = attempt }
        dependencies = object["dependencies"]?.objectValue
    }
}

private struct RunFailure: Encodable {
    var message: String
    var type: String
}

private struct CompletionFunction: @unchecked Sendable {
    // A C function pointer: immutable and callable from any thread.
    let function: easyjobs_complete_fn
}

/// The C functions in the descriptor. Static members, not globals in top-level code, so they
/// carry no actor isolation: the host calls them from any thread.
enum ABIThunks {
    static let start: easyjobs_start_fn = { index, run in
        PluginRuntime.shared.start(taskIndex: index, run: run.pointee)
    }
    static let cancel: easyjobs_cancel_fn = { runID in
        PluginRuntime.shared.cancel(runID: runID)
    }
    static let inFlight: easyjobs_in_flight_fn = {
        PluginRuntime.shared.inFlight()
    }
}
