import EasyJobsCore
import Foundation
import Logging
import Subprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs one job of a subprocess task in a child process and watches it: the child reports its
/// own result to the manager; the host reports only what the child could not (its death, a
/// timeout, a limit, a failure to start).
struct SubprocessRunner: Sendable {
    /// The `easyjobs` executable, whose hidden `run-task` command is the child.
    let executable: String
    let manager: String
    /// Time between SIGTERM and SIGKILL when a child must stop.
    let killGrace: Duration
    /// The manager's lease: a child whose host is stopped for long stops itself (see `TaskChild`).
    let leaseSeconds: Double
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
        let request = ChildRequest(
            manager: manager, token: token, jobID: job.jobID, task: job.task, plugin: plugin.copy.path, sha256: plugin.info.sha256, leaseSeconds: leaseSeconds, args: job.args,
            context: context, parentPID: getpid(), memoryLimitMB: spec.options.memoryLimit, cpuLimitSeconds: spec.options.cpuLimit)
        let input: Data
        do {
            input = try WireCoding.makeEncoder().encode(request)
        } catch {
            return .failed("cannot encode the child's request: \(error)")
        }

        var options = PlatformOptions()
        // Its own process group, so a stop reaches whatever the task started too.
        options.processGroupID = 0
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: killGrace)]
        let tail = StderrTail()
        let status: TerminationStatus
        do {
            let result = try await Subprocess.run(
                .path(FilePath(executable)), arguments: ["run-task"],
                environment: .inherit.updating([
                    // The child holds its job token only: never the host's credentials.
                    "EASYJOBS_SECRET": nil, "EASYJOBS_API_TOKEN": nil,
                    "SWIFT_BACKTRACE": "enable=yes,interactive=no,color=no,threads=crashed,registers=none,images=none,limit=32,top=8",
                ]),
                platformOptions: options, input: .data(input), output: .sequence, error: .sequence
            ) { execution in
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        do {
                            for try await line in execution.standardOutput.strings() {
                                let text = Self.trimmed(line)
                                TaskOutput.write(text)
                                onLine(.stdout, text)
                            }
                        } catch {}
                    }
                    group.addTask {
                        do {
                            for try await line in execution.standardError.strings() {
                                let text = Self.trimmed(line)
                                tail.append(text)
                                logger.info("child: \(text)", metadata: ["job_id": "\(job.jobID)", "pid": "\(execution.processIdentifier.value)"])
                                onLine(.stderr, text)
                            }
                        } catch {}
                    }
                    await group.waitForAll()
                }
            }
            status = result.terminationStatus
        } catch {
            if let reason = stopReason() { return Self.outcome(for: reason) }
            return .failed("cannot start the child process for '\(job.task)': \(error)")
        }
        if let reason = stopReason() { return Self.outcome(for: reason) }
        return Self.outcome(for: status, spec: spec, stderrTail: tail.text)
    }

    static func outcome(for reason: StopReason) -> JobOutcome? {
        switch reason {
        case .cancelled: .cancelled("cancelled: its child process was stopped")
        case .timedOut(let seconds): .failed("timed out after \(seconds.formatted) s")
        case .shutdown, .leaseLost: nil
        }
    }

    static func outcome(for status: TerminationStatus, spec: TaskSpec, stderrTail: String) -> JobOutcome? {
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
            if let limit = spec.options.memoryLimit, stderrTail.localizedCaseInsensitiveContains("alloc") || stderrTail.localizedCaseInsensitiveContains("memory") {
                return .failed("exceeded its memory limit of \(limit) MiB (\(signalName(signal)))" + details)
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

    private static func trimmed(_ line: String) -> String {
        line.hasSuffix("\n") ? String(line.dropLast()) : line
    }
}

/// The last lines a child wrote to standard error, for the failure message.
final class StderrTail: Sendable {
    private let lines = Mutex([String]())
    private let maxLines = 40

    func append(_ line: String) {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        lines.withLock { lines in
            lines.append(line)
            if lines.count > maxLines { lines.removeFirst(lines.count - maxLines) }
        }
    }

    var text: String {
        lines.withLock { $0.joined(separator: "\n") }
    }
}

extension Double {
    /// `5` rather than `5.0`.
    var formatted: String {
        self == rounded() ? String(Int(self)) : String(self)
    }
}
