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
    let sink: HostSink

    init(jobID: String, queue: String, task: String, attempt: Int, sink: HostSink) {
        self.jobID = jobID
        self.queue = queue
        self.task = task
        self.attempt = attempt
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
}

/// The host's log callback for one run; closed when the run completes, since the host's
/// context pointer is invalid after that.
final class HostSink: Sendable {
    private struct State: @unchecked Sendable {
        // The host's pointer; only used while `open`.
        var context: UnsafeMutableRawPointer?
        var log: easyjobs_log_fn?
    }
    private let state: Mutex<State>

    init(context: UnsafeMutableRawPointer?, log: easyjobs_log_fn) {
        state = Mutex(State(context: context, log: log))
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

    /// Completes the run through `complete`, exactly once; later log lines are dropped.
    func complete(_ complete: easyjobs_complete_fn, status: easyjobs_status, _ bytes: [UInt8]) {
        let context: UnsafeMutableRawPointer? = state.withLock { state in
            let context = state.context
            state.log = nil
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
