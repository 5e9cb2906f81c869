import CEasyJobsABI
import EasyJobsCore
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// A plugin that passed every check, with its C descriptor. Lives as long as the process.
public final class LoadedPlugin: Sendable {
    public let info: PluginInfo
    /// The file in the plugin directory it was loaded from.
    public let file: URL
    /// The content-addressed copy that was opened: what subprocess runs of this version load.
    public let copy: URL
    /// The SDK version of a Swift plugin; `ffi` for a foreign-language one.
    public let sdkVersion: String
    private let backend: Backend
    private let taskIndex: [String: UInt32]

    /// How its tasks are called: the Swift SDK's C descriptor, or C functions through libffi.
    private enum Backend: Sendable {
        case descriptor(Descriptor)
        case ffi(FFIPlugin)
    }

    private struct Descriptor: @unchecked Sendable {
        // Immutable, owned by the plugin, valid for the life of the process.
        let pointer: UnsafePointer<easyjobs_plugin_descriptor>
    }

    convenience init(info: PluginInfo, file: URL, copy: URL, descriptor: UnsafePointer<easyjobs_plugin_descriptor>, sdkVersion: String) {
        self.init(info: info, file: file, copy: copy, backend: .descriptor(Descriptor(pointer: descriptor)), sdkVersion: sdkVersion)
    }

    convenience init(info: PluginInfo, file: URL, copy: URL, ffi: FFIPlugin) {
        self.init(info: info, file: file, copy: copy, backend: .ffi(ffi), sdkVersion: "ffi")
    }

    private init(info: PluginInfo, file: URL, copy: URL, backend: Backend, sdkVersion: String) {
        self.info = info
        self.file = file
        self.copy = copy
        self.sdkVersion = sdkVersion
        self.backend = backend
        var index: [String: UInt32] = [:]
        for (offset, task) in info.tasks.enumerated() { index[task.name] = UInt32(offset) }
        taskIndex = index
    }

    /// Whether its tasks are C functions called through libffi.
    public var isForeign: Bool {
        if case .ffi = backend { return true }
        return false
    }

    /// The C signatures of a foreign plugin's tasks, `task(int64 a, int64 b) -> int64`, for inspection.
    public var foreignSignatures: [String: String] {
        guard case .ffi(let plugin) = backend else { return [:] }
        return plugin.functions.mapValues { function in
            let parameters = function.parameters.map { parameter in
                if case .buffer(let element) = parameter.type { return "\(element.rawValue)* \(parameter.name), size_t \(parameter.name)_count" }
                return "\(parameter.type.cDescription) \(parameter.name)"
            }.joined(separator: ", ")
            let returns: String =
                switch function.returns {
                case .void: function.resultBuffer.map { "void (result: \($0))" } ?? "void"
                case .scalar(let scalar): scalar.rawValue
                case .string: "char* (string)"
                case .json: "char* (JSON)"
                }
            return "\(function.task)(\(parameters)) -> \(returns)"
        }
    }

    public func hasTask(_ name: String) -> Bool { taskIndex[name] != nil }

    public func spec(of task: String) -> TaskSpec? {
        taskIndex[task].map { info.tasks[Int($0)] }
    }

    /// Runs started in the plugin and not completed.
    public var inFlight: UInt64 {
        switch backend {
        case .descriptor(let descriptor): descriptor.pointer.pointee.in_flight()
        case .ffi(let plugin): plugin.inFlight
        }
    }

    /// Runs `task` and returns how it ended. Cancelling the calling task asks the plugin to stop the run.
    public func run(task: String, invocation: TaskInvocation) async -> RunOutcome {
        guard let index = taskIndex[task] else {
            return .failure(message: "plugin \(info.name) has no task '\(task)'", type: "UnknownTask")
        }
        let descriptor: Descriptor
        switch backend {
        case .ffi(let plugin): return await plugin.run(task: task, arguments: invocation.arguments)
        case .descriptor(let swift): descriptor = swift
        }
        let runID = RunIdentifiers.next()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<RunOutcome, Never>) in
                let box = RunBox(continuation: continuation, onLog: invocation.onLog, onCall: invocation.onCall, onRequest: invocation.onRequest)
                let context = Unmanaged.passRetained(box).toOpaque()
                let started = invocation.jobID.withCString { jobID in
                    invocation.arguments.withUnsafeBytes { args in
                        invocation.context.withUnsafeBytes { info in
                            var run = easyjobs_run(
                                struct_size: UInt32(MemoryLayout<easyjobs_run>.size),
                                run_id: runID,
                                job_id: jobID,
                                args: args.bindMemory(to: UInt8.self).baseAddress,
                                args_len: args.count,
                                context: info.bindMemory(to: UInt8.self).baseAddress,
                                context_len: info.count,
                                host_ctx: context,
                                complete: RunCallbacks.complete,
                                log: RunCallbacks.log,
                                call: RunCallbacks.call,
                                request: RunCallbacks.request)
                            return descriptor.pointer.pointee.start_task(index, &run)
                        }
                    }
                }
                if started != 0 {
                    Unmanaged<RunBox>.fromOpaque(context).release()
                    continuation.resume(returning: .failure(message: "plugin \(info.name) refused to start '\(task)'", type: "StartFailed"))
                    return
                }
                // A cancellation that came before the plugin had the run reached no run there
                // (`onCancel` below runs at once for a task cancelled already): ask again now
                // that it has it. A second cancel is harmless.
                if Task.isCancelled { descriptor.pointer.pointee.cancel_task(runID) }
            }
        } onCancel: {
            descriptor.pointer.pointee.cancel_task(runID)
        }
    }
}

/// What a run needs besides the task name.
public struct TaskInvocation: Sendable {
    public var jobID: String
    /// The keyword arguments, a JSON object.
    public var arguments: Data
    /// The run's context JSON (`job_id`, `queue`, `task`, `attempt`).
    public var context: Data
    /// Called for each log line of the run, from any thread.
    public var onLog: @Sendable (LogLine) -> Void
    /// Runs a task the run calls (task name, arguments JSON) and returns its outcome.
    public var onCall: @Sendable (String, Data) async -> CallOutcome
    /// Answers a request of the run (kind, JSON body; ABI 1.2) with a JSON object or a failure.
    public var onRequest: @Sendable (String, Data) async -> CallOutcome

    public init(
        jobID: String, arguments: Data, context: Data, onLog: @escaping @Sendable (LogLine) -> Void,
        onCall: @escaping @Sendable (String, Data) async -> CallOutcome = { task, _ in .failure("this host cannot run '\(task)' for a task") },
        onRequest: @escaping @Sendable (String, Data) async -> CallOutcome = { kind, _ in .failure("this host does not answer '\(kind)' requests") }
    ) {
        self.jobID = jobID
        self.arguments = arguments
        self.context = context
        self.onLog = onLog
        self.onCall = onCall
        self.onRequest = onRequest
    }
}

/// How a task called by a run ended.
public enum CallOutcome: Sendable, Equatable {
    /// The called job's result, JSON.
    case success(Data)
    case failure(String)
}

/// One line a task logged or printed.
public struct LogLine: Sendable {
    public var level: Int32
    public var message: String
    /// A printed line of output rather than a log message.
    public var isOutput: Bool { level == Int32(EASYJOBS_LOG_OUTPUT.rawValue) }
}

extension LogLine {
    /// The name of a log level of the ABI, as lines written to standard error show it.
    public static func levelName(_ level: Int32) -> String {
        ["trace", "debug", "info", "notice", "warning", "error", "critical"].indices.contains(Int(level))
            ? ["trace", "debug", "info", "notice", "warning", "error", "critical"][Int(level)] : "info"
    }
}

/// How a run ended.
public enum RunOutcome: Sendable, Equatable {
    case success(Data)
    case failure(message: String, type: String)
    case cancelled(message: String)
}

enum RunIdentifiers {
    private static let counter = Counter()
    static func next() -> UInt64 { counter.next() }

    private final class Counter: Sendable {
        private let value = Mutex<UInt64>(0)
        func next() -> UInt64 {
            value.withLock { value in
                value += 1
                return value
            }
        }
    }
}

/// Carries a run's continuation through the plugin as the C context pointer.
final class RunBox: Sendable {
    let continuation: CheckedContinuation<RunOutcome, Never>
    let onLog: @Sendable (LogLine) -> Void
    let onCall: @Sendable (String, Data) async -> CallOutcome
    let onRequest: @Sendable (String, Data) async -> CallOutcome

    init(
        continuation: CheckedContinuation<RunOutcome, Never>, onLog: @escaping @Sendable (LogLine) -> Void,
        onCall: @escaping @Sendable (String, Data) async -> CallOutcome, onRequest: @escaping @Sendable (String, Data) async -> CallOutcome
    ) {
        self.continuation = continuation
        self.onLog = onLog
        self.onCall = onCall
        self.onRequest = onRequest
    }
}

/// The plugin's reply pointer and function for one call: valid until `reply` is called once.
private struct CallReplyTarget: @unchecked Sendable {
    let context: UnsafeMutableRawPointer?
    let reply: easyjobs_call_reply_fn

    func send(_ outcome: CallOutcome) {
        switch outcome {
        case .success(let data):
            data.withUnsafeBytes { bytes in
                reply(context, Int32(EASYJOBS_STATUS_SUCCESS.rawValue), bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count)
            }
        case .failure(let message):
            let data = JSONValue.object(["message": .string(message)]).encoded()
            data.withUnsafeBytes { bytes in
                reply(context, Int32(EASYJOBS_STATUS_FAILURE.rawValue), bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count)
            }
        }
    }
}

/// The C callbacks handed to plugins: static members, so they carry no actor isolation.
enum RunCallbacks {
    static let complete: easyjobs_complete_fn = { context, status, bytes, length in
        guard let context else { return }
        let box = Unmanaged<RunBox>.fromOpaque(context).takeRetainedValue()
        let payload = bytes.map { Data(bytes: $0, count: length) } ?? Data()
        box.continuation.resume(returning: RunCallbacks.outcome(status: status, payload: payload))
    }

    static let log: easyjobs_log_fn = { context, level, message, length in
        guard let context else { return }
        let box = Unmanaged<RunBox>.fromOpaque(context).takeUnretainedValue()
        let text = message.map { String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self) } ?? ""
        box.onLog(LogLine(level: level, message: text))
    }

    static let call: easyjobs_call_fn = { context, task, args, length, replyContext, reply in
        guard let context else { return }
        let box = Unmanaged<RunBox>.fromOpaque(context).takeUnretainedValue()
        let name = String(cString: task)
        let arguments = args.map { Data(bytes: $0, count: length) } ?? Data("{}".utf8)
        let target = CallReplyTarget(context: replyContext, reply: reply)
        // The run's box stays alive until its complete, and a run awaits its calls before it completes.
        Task { target.send(await box.onCall(name, arguments)) }
    }

    static let request: easyjobs_request_fn = { context, kind, body, length, replyContext, reply in
        guard let context else { return }
        let box = Unmanaged<RunBox>.fromOpaque(context).takeUnretainedValue()
        let name = String(cString: kind)
        let payload = body.map { Data(bytes: $0, count: length) } ?? Data("{}".utf8)
        let target = CallReplyTarget(context: replyContext, reply: reply)
        Task { target.send(await box.onRequest(name, payload)) }
    }

    static func outcome(status: Int32, payload: Data) -> RunOutcome {
        switch status {
        case Int32(EASYJOBS_STATUS_SUCCESS.rawValue):
            return .success(payload)
        default:
            let failure = try? JSONValue.decode(payload)
            let message = failure?["message"]?.stringValue ?? String(decoding: payload, as: UTF8.self)
            if status == Int32(EASYJOBS_STATUS_CANCELLED.rawValue) {
                return .cancelled(message: message)
            }
            return .failure(message: message, type: failure?["type"]?.stringValue ?? "Error")
        }
    }
}
