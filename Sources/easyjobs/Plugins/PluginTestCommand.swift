import ArgumentParser
import EasyJobsCore
import EasyJobsHost
import EasyJobsHostCLI
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `easyjobs plugin test FILE TASK --json ARGS`: runs one task of a built plugin in a throwaway
/// child, with no manager, printing what it prints and its result: a plugin's own CI tests its
/// tasks with the loader and the runtime a host uses.
///
/// ```sh
/// easyjobs plugin test .build/debug/libGreeter.so greet --json '{"name": "Ada"}'
/// # hello, Ada
/// # result: {"text":"hello, Ada"}
/// ```
struct PluginTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Run one task of a built plugin in a throwaway child, without a manager.",
        discussion: """
            The task's output goes to standard output as it prints it, then `result: <JSON>`; logs, progress and \
            enqueues go to standard error. Exit status 0 when the task completes, 1 when it fails or crashes, \
            2 when the plugin or the arguments are refused. context.enqueue is answered with a made-up request id; \
            context.call fails, since it needs a manager.
            """)

    @Argument(help: "The plugin file (.so, or a foreign library's .easyjobs.json manifest).") var file: String
    @Argument(help: "The task to run.") var task: String
    @Option(help: "The task's arguments, a JSON object.") var json = "{}"
    @Option(help: "Results of the task's run_before tasks, a JSON object of task name → result.") var dependencies = "{}"
    @Option(help: "The attempt number the task sees.") var attempt = 1
    @Option(help: "Seconds the task may run before the child is killed.") var timeout: Double = 300
    @Flag(help: .hidden) var inProcess = false

    func run() async throws {
        if inProcess { Foundation.exit(await runHere()) }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: HostExecutable.current)
        child.arguments = [
            "plugin", "test", file, task, "--json", json, "--dependencies", dependencies, "--attempt", "\(attempt)", "--in-process",
        ]
        do {
            try child.run()
        } catch {
            fail(EasyJobsError(.internalError, "cannot start the child that runs the task: \(error)"))
        }
        let deadline = ContinuousClock.now + .seconds(max(timeout, 0))
        while child.isRunning {
            if ContinuousClock.now >= deadline {
                kill(child.processIdentifier, SIGKILL)
                child.waitUntilExit()
                StandardStreams.writeError("failed: task '\(task)' ran past --timeout \(timeout.formatted) s and was killed\n")
                Foundation.exit(1)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // A child that crashed left its copy of the plugin behind.
        try? FileManager.default.removeItem(at: Self.cache(of: child.processIdentifier))
        if child.terminationReason == .uncaughtSignal {
            let signal = child.terminationStatus
            if signal == SIGXCPU {
                StandardStreams.writeError("failed: task '\(task)' exceeded its CPU time limit (SIGXCPU); a host would fail the job the same way\n")
                Foundation.exit(1)
            }
            StandardStreams.writeError(
                "crashed: task '\(task)' killed its process with \(String(cString: strsignal(signal))) (signal \(signal)); a host would fail the job and keep running\n"
            )
            Foundation.exit(1)
        }
        Foundation.exit(child.terminationStatus)
    }

    /// A subprocess task runs under its memory and CPU limits here as in a host's child, so
    /// that a task that outgrows them fails in the plugin's tests too.
    private func applyLimits(_ options: TaskOptions) {
        var limits: [String] = []
        if let megabytes = options.memoryLimit { limits.append("memory \(megabytes) MiB") }
        if let seconds = options.cpuLimit { limits.append("CPU time \(seconds) s") }
        guard !limits.isEmpty else { return }
        StandardStreams.writeError("limits: \(limits.joined(separator: ", ")), as a host's child has them\n")
        ChildLimits.apply(memoryMB: options.memoryLimit, cpuSeconds: options.cpuLimit)
    }

    /// Where the child of `pid` copies the plugin before it opens it, as a host does.
    static func cache(of pid: Int32) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-plugin-test-\(pid)")
    }

    /// The child: loads the plugin as a host does, checks the arguments as the manager does, runs the task.
    private func runHere() async -> Int32 {
        let arguments: JSONValue
        let results: JSONValue
        do {
            arguments = try JSONValue.decode(Data(json.utf8))
            results = try JSONValue.decode(Data(dependencies.utf8))
        } catch {
            StandardStreams.writeError("error: --json and --dependencies must be JSON objects: \(error.message)\n")
            return 2
        }
        let cache = Self.cache(of: getpid())
        defer { try? FileManager.default.removeItem(at: cache) }
        let plugin: LoadedPlugin
        let bound: [String: JSONValue]
        do throws(EasyJobsError) {
            plugin = try DynamicLibraryLoader(cacheDirectory: cache).loadInProcess(file: URL(fileURLWithPath: file))
            guard let spec = plugin.spec(of: task) else {
                throw EasyJobsError(
                    .unknownTask,
                    "plugin '\(plugin.info.name)' has no task '\(task)' (its tasks: \(plugin.info.tasks.map(\.name).joined(separator: ", ")))")
            }
            bound = try spec.bind(arguments)
            if spec.options.subprocess { applyLimits(spec.options) }
        } catch {
            StandardStreams.writeError("error: \(error.message)\n")
            return 2
        }
        var context: [String: JSONValue] = [
            "job_id": "plugin-test", "queue": "plugin-test", "task": .string(task), "attempt": .int(attempt),
        ]
        if case .object(let fields) = results, !fields.isEmpty { context["dependencies"] = results }
        let enqueued = Mutex(0)
        let invocation = TaskInvocation(
            jobID: "plugin-test", arguments: JSONValue.object(bound).encoded(), context: JSONValue.object(context).encoded(),
            onLog: { line in
                if line.isOutput {
                    StandardStreams.writeOutput(line.message + "\n")
                } else {
                    StandardStreams.writeError("\(LogLine.levelName(line.level)): \(line.message)\n")
                }
            },
            onCall: { called, _ in .failure("context.call('\(called)') needs a manager: plugin test runs one task alone") },
            onRequest: { kind, body in
                let request = (try? JSONValue.decode(body)) ?? .null
                switch kind {
                case "progress":
                    // Read as the host reads it, so a malformed one fails here as it would there.
                    guard let progress = ProgressRequest(taskRequest: body, hostID: "", jobID: "plugin-test", lease: 0) else {
                        return .failure(ProgressRequest.malformedTaskRequest)
                    }
                    StandardStreams.writeError(
                        "progress \(Int((progress.fraction * 100).rounded()))%" + (progress.message.map { ": \($0)" } ?? "") + "\n")
                    return .success(Data("{}".utf8))
                case "enqueue":
                    let number = enqueued.withLock { count -> Int in
                        count += 1
                        return count
                    }
                    let id = "plugin-test-enqueue-\(number)"
                    StandardStreams.writeError(
                        "enqueue \(request["task"]?.stringValue ?? "?") \(String(decoding: (request["arguments"] ?? [:]).encoded(), as: UTF8.self)) → \(id)\n"
                    )
                    return .success(JSONValue.object(["request_id": .string(id)]).encoded())
                default:
                    return .failure("plugin test does not answer '\(kind)' requests (it knows: progress, enqueue)")
                }
            })
        switch await plugin.run(task: task, invocation: invocation) {
        case .success(let bytes):
            announce("result: \(String(decoding: bytes, as: UTF8.self))")
            return 0
        case .failure(let message, _):
            StandardStreams.writeError("failed: \(message)\n")
            return 1
        case .cancelled(let message):
            StandardStreams.writeError("cancelled: \(message)\n")
            return 1
        }
    }
}
