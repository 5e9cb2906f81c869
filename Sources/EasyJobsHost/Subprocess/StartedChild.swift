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

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// One `run-task` child, started for one plugin version: it loads the plugin, then waits for
/// its one job, which a runner hands it with `run(_:onLine:)`.
///
/// The child gets its setup (no token) when it starts and its job (with the token) only at
/// hand-off, after which its input is closed: it can never run a second job. What it writes
/// before the hand-off goes to the host's log; after it, to the job's.
final class StartedChild: Sendable {
    /// How the process ended.
    enum End: Sendable {
        case exited(TerminationStatus)
        /// It could not be started (or watched) at all.
        case failed(String)
    }

    let plugin: LoadedPlugin
    /// How long it may take to exit once the runtime said it crashed.
    let crashReportGrace: Duration
    /// When it was started, to tell a child that dies at once from one that lived.
    let started = ContinuousClock.now
    private let logger: Logger
    private let state = Mutex(State())
    /// What it wrote to standard error before it had a job, for the log when it dies idle.
    private let idleTail = StderrTail()

    private struct State {
        var pid: Int32?
        /// The task that runs and watches the process: cancelling it stops the process group.
        var owner: Task<Void, Never>?
        var stopRequested = false
        var handedOff = false
        /// The job handed off, until the task writing the child's input takes it.
        var job: Data?
        var jobWaiter: CheckedContinuation<Data?, Never>?
        /// Whether the job reached the child's input.
        var delivered = false
        /// No job can be handed off any more: retired, or the child's output ended.
        var closed = false
        var sink: (@Sendable (JobLogLine.Stream, String) -> Void)?
        var end: End?
        var endWaiters: [CheckedContinuation<End, Never>] = []
        /// The runtime said it crashed: it has `crashReportGrace` left to exit.
        var crashNoticed = false
        /// It was killed because it had not exited within that time.
        var killedAfterCrash = false
    }

    init(plugin: LoadedPlugin, crashReportGrace: Duration, logger: Logger) {
        self.plugin = plugin
        self.crashReportGrace = crashReportGrace
        self.logger = logger
    }

    /// Whether it was killed because it had not exited within `crashReportGrace` of its crash.
    var killedAfterCrash: Bool { state.withLock { $0.killedAfterCrash } }

    /// Its process id while it runs.
    var pid: Int32? { state.withLock { $0.pid } }

    /// The last lines it wrote to standard error while it had no job.
    var idleStderr: String { idleTail.text }

    func adopt(_ owner: Task<Void, Never>) {
        let stop = state.withLock { state in
            state.owner = owner
            return state.stopRequested
        }
        if stop { owner.cancel() }
    }

    /// Hands the child `job` (a `ChildJob`, encoded) and waits until the process has ended.
    /// `onLine` gets every line it writes from now on. Cancelling the calling task stops the
    /// child as `stop()` does. `delivered` is false when the job never reached the child (it
    /// had died or been retired): the job did not start and may go to another child.
    func run(_ job: Data, onLine: @escaping @Sendable (JobLogLine.Stream, String) -> Void) async -> (end: End, delivered: Bool) {
        let handOff: CheckedContinuation<Data?, Never>?? = state.withLock { state in
            guard !state.closed, !state.handedOff, state.end == nil else { return nil }
            state.handedOff = true
            state.sink = onLine
            if let waiter = state.jobWaiter {
                state.jobWaiter = nil
                return .some(waiter)
            }
            state.job = job
            return .some(nil)
        }
        guard let handOff else { return (await ended(), false) }
        handOff?.resume(returning: job)
        let end = await withTaskCancellationHandler {
            await ended()
        } onCancel: {
            stop()
        }
        return (end, state.withLock { $0.delivered })
    }

    /// Stops the child and whatever it started (its process group): SIGTERM, then SIGKILL
    /// after the kill grace.
    func stop() {
        let owner = state.withLock { state in
            state.stopRequested = true
            return state.owner
        }
        owner?.cancel()
    }

    /// Ends a child that has no job, at once and by its pid: it runs nothing, so nothing is
    /// lost. Returns false (and leaves it alone) when it already has a job.
    @discardableResult
    func retire() -> Bool {
        let (retired, waiter, pid) = state.withLock { state -> (Bool, CheckedContinuation<Data?, Never>?, Int32?) in
            guard !state.handedOff else { return (false, nil, nil) }
            state.closed = true
            defer { state.jobWaiter = nil }
            return (true, state.jobWaiter, state.pid)
        }
        guard retired else { return false }
        waiter?.resume(returning: nil)
        if let pid { kill(pid, SIGKILL) }
        return true
    }

    /// How the process ended, once it has.
    func ended() async -> End {
        await withCheckedContinuation { continuation in
            let end: End? = state.withLock { state in
                if let end = state.end { return end }
                state.endWaiters.append(continuation)
                return nil
            }
            if let end { continuation.resume(returning: end) }
        }
    }

    /// Runs the process from start to end; called once, on the spawn thread, by `ChildLauncher`.
    func live(_ launcher: ChildLauncher, setup: ChildSetup) async -> End {
        var end: End
        do {
            let line = try WireCoding.makeEncoder().encode(setup) + Data("\n".utf8)
            var options = PlatformOptions()
            // Its own process group, so a stop reaches whatever the task started too.
            options.processGroupID = 0
            options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: launcher.killGrace)]
            let result = try await Subprocess.run(
                .path(FilePath(launcher.executable)), arguments: ["run-task"],
                environment: .inherit.updating([
                    // The child holds its job token only: never the host's credentials.
                    "EASYJOBS_SECRET": nil, "EASYJOBS_API_TOKEN": nil,
                    "SWIFT_BACKTRACE": "enable=yes,interactive=no,color=no,threads=crashed,registers=none,images=none,limit=32,top=8",
                ]),
                platformOptions: options, input: .inputWriter, output: .sequence, error: .sequence
            ) { execution in
                await attend(execution, setup: line)
            }
            end = .exited(result.terminationStatus)
        } catch {
            end = .failed("\(error)")
        }
        let (waiters, jobWaiter) = state.withLock { state in
            state.end = end
            state.closed = true
            state.pid = nil
            defer {
                state.endWaiters = []
                state.jobWaiter = nil
            }
            return (state.endWaiters, state.jobWaiter)
        }
        jobWaiter?.resume(returning: nil)
        for waiter in waiters { waiter.resume(returning: end) }
        return end
    }

    /// Writes the setup, forwards the child's lines, and writes its job when it is handed off.
    private func attend(_ execution: Execution<CustomWriteInput, SequenceOutput, SequenceOutput>, setup: Data) async {
        let pid = execution.processIdentifier.value
        let retired = state.withLock { state in
            state.pid = pid
            return state.closed
        }
        if retired { kill(pid, SIGKILL) }
        let input = execution.standardInputWriter
        _ = try? await input.write(Array(setup))
        await withTaskGroup(of: Bool.self) { group in
            // True once its output has ended: it exited (or closed both), and takes no job now.
            group.addTask {
                await withTaskGroup(of: Void.self) { streams in
                    streams.addTask {
                        do {
                            for try await line in execution.standardOutput.strings() { self.route(.stdout, line) }
                        } catch {}
                    }
                    streams.addTask {
                        do {
                            for try await line in execution.standardError.strings() { self.route(.stderr, line) }
                        } catch {}
                    }
                }
                return true
            }
            group.addTask {
                if let job = await self.nextJob() {
                    let written = (try? await input.write(Array(job + Data("\n".utf8)))) != nil
                    self.state.withLock { $0.delivered = written }
                }
                // Its one job, or none: either way its input ends here.
                try? await input.finish()
                return false
            }
            if await group.next() == true { close() }
            await group.waitForAll()
        }
        // Reaped once this returns: the pid may soon be another process's.
        state.withLock { $0.pid = nil }
    }

    /// The job once it is handed off, or `nil` when none will be.
    private func nextJob() async -> Data? {
        await withCheckedContinuation { continuation in
            let ready: Data?? = state.withLock { state in
                if let job = state.job {
                    state.job = nil
                    return .some(job)
                }
                if state.closed { return .some(nil) }
                state.jobWaiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func close() {
        let waiter = state.withLock { state in
            state.closed = true
            defer { state.jobWaiter = nil }
            return state.jobWaiter
        }
        waiter?.resume(returning: nil)
    }

    private func route(_ stream: JobLogLine.Stream, _ line: String) {
        let text = line.hasSuffix("\n") ? String(line.dropLast()) : line
        if stream == .stderr && Self.announcesCrash(text) { noticeCrash() }
        if let sink = state.withLock({ $0.sink }) {
            sink(stream, text)
            return
        }
        if stream == .stderr { idleTail.append(text) }
        logger.info(
            "idle subprocess child: \(text)", metadata: ["pid": "\(pid ?? 0)", "plugin": "\(plugin.info.name)@\(plugin.info.version)"])
    }

    /// The Swift runtime's words for a crash: `Fatal error:` for a trap it raised itself, the
    /// backtracer's `Program crashed` for a signal.
    static func announcesCrash(_ line: String) -> Bool {
        line.contains("Fatal error: ") || line.contains("Program crashed: ")
    }

    /// The process is crashing and waits for its backtracer: it gets `crashReportGrace` to
    /// finish, then its process group is killed (and the process itself, should the task have
    /// left the group), so that the job ends even when the backtracer does not.
    private func noticeCrash() {
        let first = state.withLock { state in
            defer { state.crashNoticed = true }
            return !state.crashNoticed
        }
        guard first else { return }
        let grace = crashReportGrace
        let logger = self.logger
        Task { [weak self] in
            try? await Task.sleep(for: grace)
            guard let self else { return }
            // Under the lock: the pid is cleared before the process is reaped, so it is still ours.
            let killed = self.state.withLock { state -> Int32? in
                guard let pid = state.pid else { return nil }
                state.killedAfterCrash = true
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                return pid
            }
            if let killed {
                logger.warning(
                    "a subprocess child that crashed had not exited \(grace.inSeconds.formatted) s later; killed it",
                    metadata: ["pid": "\(killed)", "plugin": "\(self.plugin.info.name)@\(self.plugin.info.version)"])
            }
        }
    }
}
