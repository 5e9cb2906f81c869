import CHostSupport
import EasyJobsClient
import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// The child side of a subprocess task (`easyjobs run-task`, started by a host): reads its
/// setup from standard input, loads the plugin copy the host loaded, then waits for its one
/// job on the same input, runs it and reports the outcome to the manager with the job's token.
///
/// The host may start it well before there is a job (its pool of idle children, see
/// `ChildPool`), so everything that does not depend on the job (the runtime, the plugin's
/// `dlopen`, the HTTP client) is done while it waits; the job's limits and the watch on a
/// stopped host begin only with the job.
public enum TaskChild {
    /// Runs the child and returns its exit status.
    public static func main() async -> Int32 {
        let setup: ChildSetup
        do {
            setup = try WireCoding.makeDecoder().decode(ChildSetup.self, from: Data((readLine() ?? "").utf8))
        } catch {
            printError("run-task: the setup on standard input is not valid: \(error)\n")
            return ChildExit.badRequest.rawValue
        }
        // Die with the host, even if it is killed: no orphan outlives it.
        _ = easyjobs_set_parent_death_signal(SIGKILL)
        if getppid() != setup.parentPID { return ChildExit.orphaned.rawValue }

        let plugin: LoadedPlugin
        do throws(EasyJobsError) {
            let copy = URL(fileURLWithPath: setup.plugin)
            // Checked before dlopen: opening a library runs its code.
            let actual = try DynamicLibraryLoader.sha256(ofFile: copy)
            guard actual == setup.sha256 else {
                throw EasyJobsError(
                    .pluginRefused, "the plugin copy \(copy.path) is not the one the host loaded: SHA-256 \(actual), expected \(setup.sha256)")
            }
            plugin = try DynamicLibraryLoader(cacheDirectory: copy.deletingLastPathComponent()).loadInProcess(file: copy)
        } catch {
            printError("run-task: cannot load the plugin: \(error.message)\n")
            return ChildExit.pluginUnavailable.rawValue
        }
        // Made while the child waits, with a connection opened ahead, so that reporting costs
        // one request on a connection that is already there.
        let client = ManagerClient(baseURL: setup.manager)
        Task { try? await client.health() }

        guard let line = await nextLineOfInput() else { return ChildExit.released.rawValue }
        let job: ChildJob
        do {
            job = try WireCoding.makeDecoder().decode(ChildJob.self, from: Data(line.utf8))
        } catch {
            printError("run-task: the job on standard input is not valid: \(error)\n")
            return ChildExit.badRequest.rawValue
        }
        setProcessName(ChildProcessName.running)
        ChildLimits.apply(memoryMB: job.memoryLimitMB, cpuSeconds: job.cpuLimitSeconds)
        watchForAStoppedHost(setup)

        let invocation = TaskInvocation(
            jobID: job.jobID, arguments: JSONValue.object(job.args).encoded(), context: job.context.encoded(),
            onLog: { line in
                if line.isOutput {
                    TaskOutput.write(line.message)
                } else {
                    printError("\(LogLine.levelName(line.level)): \(line.message)\n")
                }
            },
            onCall: { task, _ in .failure("a subprocess task cannot call '\(task)': calls run only in the host") },
            onRequest: { kind, body in
                // Progress goes to the manager with the job's token, as the report does; an
                // enqueue needs the host's session, which a child never holds.
                guard kind == "progress" else {
                    return .failure("a subprocess task cannot send '\(kind)' requests (it can send: progress)")
                }
                guard let progress = ProgressRequest(taskRequest: body, hostID: "", jobID: job.jobID, lease: job.lease) else {
                    return .failure(ProgressRequest.malformedTaskRequest)
                }
                do {
                    try await client.childProgress(progress, token: job.token)
                } catch {
                    printError("run-task: progress not recorded: \((error as? EasyJobsError)?.message ?? "\(error)")\n")
                }
                return .success(Data("{}".utf8))
            })
        let outcome: JobOutcome =
            switch await plugin.run(task: job.task, invocation: invocation) {
            case .success(let bytes):
                (try? JSONValue.decode(bytes)).map(JobOutcome.completed) ?? .failed("task '\(job.task)' returned a result that is not JSON")
            case .failure(let message, _): .failed(message)
            case .cancelled(let message): .cancelled(message)
            }

        for attempt in 1...5 {
            do {
                try await client.childReport(
                    JobReport(jobID: job.jobID, lease: job.lease, outcome: outcome, plugin: plugin.info.ref), token: job.token)
                return ChildExit.reported.rawValue
            } catch let error as EasyJobsError where error.code == .managerUnavailable {
                printError("run-task: cannot reach the manager (try \(attempt) of 5): \(error.message)\n")
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            } catch {
                printError("run-task: the manager refused the report: \((error as? EasyJobsError)?.message ?? "\(error)")\n")
                return ChildExit.reportRefused.rawValue
            }
        }
        return ChildExit.managerUnreachable.rawValue
    }

    /// The next line of standard input, or `nil` at its end. Read on a thread of its own: a
    /// child in the pool may wait here for minutes, and must not hold one of the few threads
    /// of the concurrency pool while it does.
    private static func nextLineOfInput() async -> String? {
        await withCheckedContinuation { continuation in
            OSThread.detach(name: "run-task-input") { continuation.resume(returning: readLine()) }
        }
    }

    /// Renames the process (`/proc/self/comm`, its main thread) to tell what it does now.
    private static func setProcessName(_ name: String) {
        let descriptor = open("/proc/self/comm", O_WRONLY)
        guard descriptor >= 0 else { return }
        _ = name.withCString { write(descriptor, $0, strlen($0)) }
        close(descriptor)
    }

    /// A stopped host (SIGSTOP, a debugger) cannot renew its lease, but its child runs on and
    /// would run beside the job's next run elsewhere. The child watches its parent's state and
    /// ends itself once the parent has been stopped for half a lease: heartbeats come every
    /// third of a lease, so the lease has at least that much left when the host stops.
    private static func watchForAStoppedHost(_ setup: ChildSetup) {
        let parent = setup.parentPID
        let grace = setup.leaseSeconds / 2
        OSThread.detach(name: "run-task-watch") {
            var stoppedSince: Date?
            while true {
                usleep(50_000)
                guard let stat = try? String(contentsOfFile: "/proc/\(parent)/stat", encoding: .utf8),
                    let close = stat.lastIndex(of: ")")
                else { continue }
                let state = stat[stat.index(after: close)...].split(separator: " ").first
                guard state == "T" || state == "t" else {
                    stoppedSince = nil
                    continue
                }
                let since = stoppedSince ?? Date()
                stoppedSince = since
                if Date().timeIntervalSince(since) > grace {
                    printError("run-task: the host has been stopped for over \(grace.formatted) s, past what its lease allows: stopping this run\n")
                    _exit(ChildExit.hostStopped.rawValue)
                }
            }
        }
    }

}

private func printError(_ text: String) {
    StandardStreams.writeError(text)
}
