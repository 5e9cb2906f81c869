import CHostSupport
import EasyJobsClient
import EasyJobsCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The child side of a subprocess task (`easyjobs run-task`, started by a host): reads its
/// request from standard input, loads the plugin copy the host loaded, runs the one task and
/// reports the outcome to the manager with the job's token.
public enum TaskChild {
    /// Runs the child and returns its exit status.
    public static func main() async -> Int32 {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let request: ChildRequest
        do {
            request = try WireCoding.makeDecoder().decode(ChildRequest.self, from: input)
        } catch {
            printError("run-task: the request on standard input is not valid: \(error)\n")
            return ChildExit.badRequest.rawValue
        }
        // Die with the host, even if it is killed: no orphan outlives it.
        _ = easyjobs_set_parent_death_signal(SIGKILL)
        if getppid() != request.parentPID { return ChildExit.orphaned.rawValue }
        applyLimits(request)
        watchForAStoppedHost(request)

        let plugin: LoadedPlugin
        do throws(EasyJobsError) {
            let copy = URL(fileURLWithPath: request.plugin)
            // Checked before dlopen: opening a library runs its code.
            let actual = try DynamicLibraryLoader.sha256(ofFile: copy)
            guard actual == request.sha256 else {
                throw EasyJobsError(
                    .pluginRefused, "the plugin copy \(copy.path) is not the one the host loaded: SHA-256 \(actual), expected \(request.sha256)")
            }
            plugin = try DynamicLibraryLoader(cacheDirectory: copy.deletingLastPathComponent()).loadInProcess(file: copy)
        } catch {
            printError("run-task: cannot load the plugin: \(error.message)\n")
            return ChildExit.pluginUnavailable.rawValue
        }
        let invocation = TaskInvocation(
            jobID: request.jobID, arguments: JSONValue.object(request.args).encoded(), context: request.context.encoded(),
            onLog: { line in
                if line.isOutput {
                    TaskOutput.write(line.message)
                } else {
                    printError("\(LogLine.levelName(line.level)): \(line.message)\n")
                }
            },
            onCall: { task, _ in .failure("a subprocess task cannot call '\(task)': calls run only in the host") })
        let outcome: JobOutcome =
            switch await plugin.run(task: request.task, invocation: invocation) {
            case .success(let bytes):
                (try? JSONValue.decode(bytes)).map(JobOutcome.completed) ?? .failed("task '\(request.task)' returned a result that is not JSON")
            case .failure(let message, _): .failed(message)
            case .cancelled(let message): .cancelled(message)
            }

        let client = ManagerClient(baseURL: request.manager)
        for attempt in 1...5 {
            do {
                try await client.childReport(ChildReport(jobID: request.jobID, outcome: outcome, plugin: plugin.info.ref), token: request.token)
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

    /// A stopped host (SIGSTOP, a debugger) cannot renew its lease, but its child runs on and
    /// would run beside the job's next run elsewhere. The child watches its parent's state and
    /// ends itself once the parent has been stopped for half a lease: heartbeats come every
    /// third of a lease, so the lease has at least that much left when the host stops.
    private static func watchForAStoppedHost(_ request: ChildRequest) {
        let parent = request.parentPID
        let grace = request.leaseSeconds / 2
        let thread = Thread {
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
        thread.start()
    }

    private static func applyLimits(_ request: ChildRequest) {
        if let megabytes = request.memoryLimitMB {
            var limit = rlimit(rlim_cur: rlim_t(megabytes) << 20, rlim_max: rlim_t(megabytes) << 20)
            setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
        }
        if let seconds = request.cpuLimitSeconds {
            // SIGXCPU at the soft limit, SIGKILL a second later if it is ignored.
            var limit = rlimit(rlim_cur: rlim_t(seconds), rlim_max: rlim_t(seconds + 1))
            setrlimit(__rlimit_resource_t(RLIMIT_CPU.rawValue), &limit)
        }
    }
}

private func printError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

extension LogLine {
    static func levelName(_ level: Int32) -> String {
        ["trace", "debug", "info", "notice", "warning", "error", "critical"].indices.contains(Int(level))
            ? ["trace", "debug", "info", "notice", "warning", "error", "critical"][Int(level)] : "info"
    }
}
