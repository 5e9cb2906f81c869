#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CEasyJobsABI
import Logging
import Synchronization

/// What a running task knows about its job, and how it talks to the host.
///
/// ```swift
/// context.logger.info("fetched rows", metadata: ["count": "\(rows.count)"])  // carries the job id
/// context.print("extract started")  // a line of output, shown as is
/// ```
public final class TaskContext: Sendable {
    public let jobID: String
    public let queue: String
    public let task: String
    /// 1 for the first run, 2 for the first retry, …
    public let attempt: Int
    /// Lines go to the host's log with this job's id attached.
    public let logger: Logger
    /// The results of this task's `run_before` tasks, by task name.
    public let dependencies: [String: JSONValue]
    let sink: HostSink

    init(jobID: String, queue: String, task: String, attempt: Int, dependencies: [String: JSONValue], sink: HostSink) {
        self.jobID = jobID
        self.queue = queue
        self.task = task
        self.attempt = attempt
        self.dependencies = dependencies
        self.sink = sink
        var logger = Logger(label: "easyjobs.task.\(task)") { _ in HostLogHandler(sink: sink) }
        logger[metadataKey: "job_id"] = .string(jobID)
        self.logger = logger
    }

    /// Prints a line of output, like the seed's `print`: the host shows it verbatim, tagged with the job.
    public func print(_ items: Any..., separator: String = " ") {
        sink.send(level: EASYJOBS_LOG_OUTPUT, items.map { "\($0)" }.joined(separator: separator))
    }

    /// Whether the job was asked to stop. Long loops should check it and return early.
    public var isCancelled: Bool { Task.isCancelled }

    /// Runs `task` of this queue with keyword `arguments` as a job of its own and returns its
    /// result. The host does not count this job as running while it waits, so awaiting another
    /// task never deadlocks a host, however few slots it has.
    ///
    /// ```swift
    /// let result = try await context.call("compute", ["data": ["test": "data"]])
    /// ```
    ///
    /// - Throws: `TaskFailure` when the called job fails for good or cannot be created.
    public func call(_ task: String, _ arguments: JSONValue = [:]) async throws -> JSONValue {
        let bytes = try await sink.call(task: task, arguments: Array(arguments.encoded()))
        return try JSONValue.read(bytes)
    }

    /// Enqueues `task` of this queue with keyword `arguments` as a job of its own and returns its
    /// request id at once, without waiting for it (unlike ``call(_:_:)``). The job's origin
    /// points at this one, so it shows in this job's pipeline.
    ///
    /// ```swift
    /// let id = try await context.enqueue("send_mail", ["to": "ops@example.com"], options: EnqueueOptions(delay: 60, idempotencyKey: "mail-\(orderID)"))
    /// ```
    ///
    /// A run that is tried again enqueues again: give an `idempotencyKey` for a job that must be
    /// made once. Runs in a subprocess cannot enqueue (their child has no host to ask).
    ///
    /// - Throws: `TaskFailure` when the manager refuses the job (an unknown task, arguments that
    ///   do not fit) or the host cannot ask it (a host older than ABI 1.2).
    @discardableResult
    public func enqueue(_ task: String, _ arguments: JSONValue = [:], options: EnqueueOptions = EnqueueOptions()) async throws -> String {
        let body: JSONValue = ["task": .string(task), "arguments": arguments, "options": options.json]
        let reply = try await sink.request(kind: "enqueue", body: Array(body.encoded()), what: "enqueue '\(task)'")
        guard case .string(let id)? = try JSONValue.read(reply)["request_id"] else {
            throw TaskFailure("the host's answer to the enqueue of '\(task)' has no request_id", type: "EnqueueFailed")
        }
        return id
    }

    /// ``enqueue(_:_:options:)`` with typed arguments.
    @discardableResult
    public func enqueue<Arguments: Encodable>(_ task: String, arguments: Arguments, options: EnqueueOptions = EnqueueOptions()) async throws
        -> String
    {
        try await enqueue(task, try JSONValue.read(Array(JSONEncoder().encode(arguments))), options: options)
    }

    /// Reports how far the job is, from 0 to 1 (clamped), with an optional message: the job view
    /// and the dashboard show the latest. Advisory: it never fails the task (a host older than
    /// ABI 1.2, a subprocess run or an unreachable manager loses the report). Each call is one
    /// request to the manager, so report a few times a second at most.
    ///
    /// ```swift
    /// await context.progress(Double(done) / Double(total), "\(done) of \(total) rows")
    /// ```
    public func progress(_ fraction: Double, _ message: String? = nil) async {
        guard fraction.isFinite else { return }
        var body: [String: JSONValue] = ["fraction": .double(min(max(fraction, 0), 1))]
        if let message { body["message"] = .string(message) }
        _ = try? await sink.request(kind: "progress", body: Array(JSONValue.object(body).encoded()), what: "report progress")
    }

    /// ``call(_:_:)`` with typed arguments and result.
    public func call<Arguments: Encodable, Output: Decodable>(_ task: String, arguments: Arguments, as output: Output.Type) async throws -> Output {
        let bytes = try await sink.call(task: task, arguments: Array(JSONEncoder().encode(arguments)))
        return try JSONDecoder().decode(Output.self, from: Data(bytes))
    }
}

/// The host's log callback for one run; closed when the run completes, since the host's
/// context pointer is invalid after that.
final class HostSink: Sendable {
    private struct State: @unchecked Sendable {
        // The host's pointer; only used while `open`.
        var context: UnsafeMutableRawPointer?
        var log: easyjobs_log_fn?
        var call: easyjobs_call_fn?
        var request: easyjobs_request_fn?
    }
    private let state: Mutex<State>

    init(context: UnsafeMutableRawPointer?, log: easyjobs_log_fn, call: easyjobs_call_fn?, request: easyjobs_request_fn? = nil) {
        state = Mutex(State(context: context, log: log, call: call, request: request))
    }

    /// Asks the host through `send` (a call or a request, given the host's context, the reply's
    /// pointer and its function) and waits for the reply; `(-1, [])` when the host offers no such
    /// function or the run has ended.
    private func ask(
        _ send: (State, UnsafeMutableRawPointer) -> Bool
    ) async -> (Int32, [UInt8]) {
        await withCheckedContinuation { (continuation: CheckedContinuation<(Int32, [UInt8]), Never>) in
            let reply = Unmanaged.passRetained(CallReply(continuation)).toOpaque()
            // Under the lock: the host's context is only valid until the run completes.
            let sent = state.withLock { state -> Bool in state.log != nil && send(state, reply) }
            if !sent {
                Unmanaged<CallReply>.fromOpaque(reply).release()
                continuation.resume(returning: (-1, []))
            }
        }
    }

    /// Sends the host a request of `kind` (ABI 1.2) and returns its answer.
    func request(kind: String, body: [UInt8], what: String) async throws -> [UInt8] {
        let (status, bytes) = await ask { state, reply in
            guard let request = state.request else { return false }
            kind.withCString { name in
                body.withUnsafeBufferPointer { body in
                    request(state.context, name, body.baseAddress, body.count, reply, CallReply.thunk)
                }
            }
            return true
        }
        return try Self.answer(
            status, bytes,
            unavailable: TaskFailure(
                "cannot \(what): the host does not take requests (it speaks ABI 1.1 or older, or runs the task in a subprocess) or the run has ended",
                type: "RequestUnavailable"),
            failureType: "RequestFailed")
    }

    /// The host's reply to a call or a request: its bytes, or the failure it names;
    /// `unavailable` when the host offered no such function or the run had ended.
    private static func answer(_ status: Int32, _ bytes: [UInt8], unavailable: TaskFailure, failureType: String) throws -> [UInt8] {
        switch status {
        case Int32(EASYJOBS_STATUS_SUCCESS.rawValue):
            return bytes
        case -1:
            throw unavailable
        default:
            let message = (try? JSONDecoder().decode([String: String].self, from: Data(bytes)))?["message"]
            throw TaskFailure(message ?? String(decoding: bytes, as: UTF8.self), type: failureType)
        }
    }

    /// Asks the host to run `task` and waits for its reply.
    func call(task: String, arguments: [UInt8]) async throws -> [UInt8] {
        let (status, bytes) = await ask { state, reply in
            guard let call = state.call else { return false }
            task.withCString { name in
                arguments.withUnsafeBufferPointer { args in
                    call(state.context, name, args.baseAddress, args.count, reply, CallReply.thunk)
                }
            }
            return true
        }
        return try Self.answer(
            status, bytes,
            unavailable: TaskFailure(
                "cannot call '\(task)': the host does not offer calls (it speaks ABI 1.0) or the run has ended", type: "CallUnavailable"),
            failureType: "CallFailed")
    }

    func send(level: easyjobs_log_level, _ message: String) {
        state.withLock { state in
            guard let log = state.log else { return }
            var text = message
            text.withUTF8 { bytes in
                log(state.context, Int32(level.rawValue), bytes.baseAddress, bytes.count)
            }
        }
    }

    /// Completes the run through `complete`, exactly once; later log lines and calls are dropped.
    func complete(_ complete: easyjobs_complete_fn, status: easyjobs_status, _ bytes: [UInt8]) {
        let context: UnsafeMutableRawPointer? = state.withLock { state in
            let context = state.context
            state.log = nil
            state.call = nil
            state.request = nil
            state.context = nil
            return context
        }
        bytes.withUnsafeBufferPointer { buffer in
            complete(context, Int32(status.rawValue), buffer.baseAddress, buffer.count)
        }
    }
}

/// A swift-log handler that forwards to the host with the run's metadata.
struct HostLogHandler: LogHandler {
    let sink: HostSink
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        // The host tags every line with the job id itself.
        let extra = merged.filter { $0.key != "job_id" }.sorted { $0.key < $1.key }
        var text = event.message.description
        if !extra.isEmpty {
            text += " " + extra.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        if let error = event.error { text += " error=\(error)" }
        sink.send(level: Self.abiLevel(event.level), text)
    }

    static func abiLevel(_ level: Logger.Level) -> easyjobs_log_level {
        switch level {
        case .trace: EASYJOBS_LOG_TRACE
        case .debug: EASYJOBS_LOG_DEBUG
        case .info: EASYJOBS_LOG_INFO
        case .notice: EASYJOBS_LOG_NOTICE
        case .warning: EASYJOBS_LOG_WARNING
        case .error: EASYJOBS_LOG_ERROR
        case .critical: EASYJOBS_LOG_CRITICAL
        }
    }
}

/// Carries a call's continuation through the host as the C reply context.
final class CallReply: Sendable {
    let continuation: CheckedContinuation<(Int32, [UInt8]), Never>

    init(_ continuation: CheckedContinuation<(Int32, [UInt8]), Never>) {
        self.continuation = continuation
    }

    static let thunk: easyjobs_call_reply_fn = { context, status, bytes, length in
        guard let context else { return }
        let reply = Unmanaged<CallReply>.fromOpaque(context).takeRetainedValue()
        let payload = bytes.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
        reply.continuation.resume(returning: (status, payload))
    }
}
