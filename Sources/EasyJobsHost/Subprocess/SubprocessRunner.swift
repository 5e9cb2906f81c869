import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Subprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs one job of a subprocess task in a child process and watches it: the child reports its
/// own result to the manager; the host reports only what the child could not (its death, a
/// timeout, a limit, a failure to start).
///
/// The child comes from the pool of idle children of the job's plugin version when it has one,
/// else it is started for the job; either way it runs this one job only.
struct SubprocessRunner: Sendable {
    let children: ChildPool
    let logger: Logger

    /// What the host must report for the job, or `nil` when the child reported it itself or
    /// the job goes back to the queue.
    func run(
        _ job: ClaimedJob, plugin: LoadedPlugin, spec: TaskSpec, context: JSONValue, stopReason: @escaping @Sendable () -> StopReason?,
        onLine: @escaping @Sendable (JobLogLine.Stream, String) -> Void
    ) async -> JobOutcome? {
        guard let token = job.token else {
            return .failed("the manager gave no job token for subprocess task '\(job.task)'")
        }
        let request = ChildJob(
            token: token, jobID: job.jobID, lease: job.lease, task: job.task, args: job.args, context: context,
            memoryLimitMB: spec.options.memoryLimit, cpuLimitSeconds: spec.options.cpuLimit)
        let input: Data
        do {
            input = try WireCoding.makeEncoder().encode(request)
        } catch {
            return .failed("cannot encode the child's request: \(error)")
        }

        let tail = StderrTail()
        let logger = self.logger
        let forward: @Sendable (StartedChild) -> @Sendable (JobLogLine.Stream, String) -> Void = { child in
            { stream, text in
                switch stream {
                case .stdout:
                    TaskOutput.write(text)
                case .stderr:
                    tail.append(text)
                    logger.info("child: \(text)", metadata: ["job_id": "\(job.jobID)", "pid": "\(child.pid ?? 0)"])
                }
                onLine(stream, text)
            }
        }
        var end: StartedChild.End
        var child: StartedChild
        if let pooled = children.take(for: plugin) {
            child = pooled
            let (pooledEnd, delivered) = await pooled.run(input, onLine: forward(pooled))
            end = pooledEnd
            // It died (or was retired) before it could take the job: the job has not started.
            if !delivered && stopReason() == nil {
                logger.debug("the pooled child was gone before its hand-off; starting one for the job")
                child = children.launcher.start(plugin)
                end = await child.run(input, onLine: forward(child)).end
            }
        } else {
            child = children.launcher.start(plugin)
            end = await child.run(input, onLine: forward(child)).end
        }
        children.replenish(for: plugin)
        if let reason = stopReason() { return Self.outcome(for: reason) }
        switch end {
        case .failed(let error):
            return .failed("cannot start the child process for '\(job.task)': \(error)")
        case .exited(let status):
            let stalled = child.killedAfterCrash ? child.crashReportGrace : nil
            return Self.outcome(for: status, spec: spec, stderrTail: tail.text, killedAfterCrash: stalled)
        }
    }

    static func outcome(for reason: StopReason) -> JobOutcome? {
        switch reason {
        case .cancelled: .cancelled("cancelled: its child process was stopped")
        case .timedOut(let seconds): .failed("timed out after \(seconds.formatted) s")
        case .shutdown, .leaseLost: nil
        }
    }

    /// How a job ended by its child's exit. `killedAfterCrash` is the grace after which a child
    /// that had crashed but not exited was killed, when it was.
    static func outcome(for status: TerminationStatus, spec: TaskSpec, stderrTail: String, killedAfterCrash: Duration? = nil) -> JobOutcome? {
        let details = stderrTail.isEmpty ? "" : "\n" + stderrTail
        switch status {
        case .exited(let code):
            switch ChildExit(rawValue: code) {
            case .reported, .reportRefused, .hostStopped: return nil
            case .pluginUnavailable: return .failed("the child could not load the plugin" + details)
            case .managerUnreachable: return .failed("the child could not reach the manager to report its result" + details)
            default: return .failed("the child exited with status \(code) before it reported a result" + details)
            }
        case .signaled(let signal):
            if signal == SIGXCPU || (signal == SIGKILL && spec.options.cpuLimit != nil && stderrTail.isEmpty) {
                return .failed("exceeded its CPU time limit of \(spec.options.cpuLimit ?? 0) s (\(signalName(signal)))" + details)
            }
            if let limit = spec.options.memoryLimit, stderrTail.lowercased().contains("alloc") || stderrTail.lowercased().contains("memory") {
                return .failed("exceeded its memory limit of \(limit) MiB (\(signalName(signal)))" + details)
            }
            if let grace = killedAfterCrash {
                return .failed(
                    "the child crashed and had not exited \(grace.inSeconds.formatted) s later (its crash report unfinished): killed by SIGKILL"
                        + details)
            }
            return .failed("the child was killed by \(signalName(signal)) (signal \(signal))" + details)
        }
    }

    static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT",
            SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM",
            SIGTERM: "SIGTERM", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGSYS: "SIGSYS",
        ]
        return names[signal] ?? "signal \(signal)"
    }

}

/// The last lines a child wrote to standard error, for the failure message.
final class StderrTail: Sendable {
    private let lines = Mutex([String]())
    private let maxLines = 40

    func append(_ line: String) {
        guard !line.trimmingWhitespace.isEmpty else { return }
        lines.withLock { lines in
            lines.append(line)
            if lines.count > maxLines { lines.removeFirst(lines.count - maxLines) }
        }
    }

    var text: String {
        lines.withLock { $0.joined(separator: "\n") }
    }
}
