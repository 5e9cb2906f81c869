import ArgumentParser
import EasyJobsCore
import EasyJobsHost
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ServiceLifecycle

/// `easyjobs host` (and `easyjobs-host host`, which `easyjobs host` becomes when it is installed
/// beside it: see `LeanHost`).
public struct HostCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "host", abstract: "Run a host: load the plugins of a directory and run their jobs.")

    @Option(help: "The manager's URL, or the URLs of several managers of one store separated by commas, tried in turn (EASYJOBS_MANAGER).")
    var manager: String?
    @Option(help: "Shared secret of the manager's host endpoints (EASYJOBS_SECRET).") var secret: String?
    @OptionGroup var flags: HostFlags
    @Option(name: .customLong("data-dir"), help: "The host's own state, such as its private plugin copies (EASYJOBS_DATA_DIR).")
    var dataDir: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (EASYJOBS_LOG_LEVEL).") var logLevel: String?

    public init() {}

    public func run() async throws {
        let logger = LogSetup.bootstrap(level: logLevel, label: "easyjobs.host")
        let options = flags.resolve(
            manager: manager ?? Environment.value("EASYJOBS_MANAGER") ?? "http://127.0.0.1:8220",
            secret: secret ?? Environment.value("EASYJOBS_SECRET"), defaultPlugins: nil, dataDirectory: dataDir)
        let host = HostService(options: options, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [host], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            fail(error)
        }
    }
}

/// The host's flags, shared by `host` and `up`.
public struct HostFlags: ParsableArguments {
    public init() {}

    @Option(help: "Directory whose *.so plugins are loaded (EASYJOBS_PLUGINS).") var plugins: String?
    @Option(
        help: """
            A queue to serve, as NAME or NAME:WEIGHT (its share of the host's claims, 1 to 1000, default 1); repeat to serve several. \
            Default: EASYJOBS_QUEUE (comma-separated) or 'default'.
            """)
    var queue: [String] = []
    @Option(name: .customLong("max-tasks"), help: "Jobs run at once.") var maxTasks = 5
    @Option(help: "The host's name in the manager's views.") var name: String?
    @Option(name: .customLong("shutdown-grace"), help: "On SIGTERM, seconds running jobs may go on before they are handed back.")
    var shutdownGrace: Double = 30
    @Option(name: .customLong("recycle-after-reloads"), help: "Plugin reloads after which the host re-executes itself (0: never).")
    var recycleAfterReloads = 100
    @Option(name: .customLong("recycle-above-rss-mb"), help: "Resident MiB above which the host re-executes itself after a reload (0: never).")
    var recycleAboveRSSMB = 1024
    @Option(
        name: .customLong("subprocess-pool"),
        help: "Idle children kept ready per plugin version with subprocess tasks; 0 starts one per job (EASYJOBS_SUBPROCESS_POOL, default 2).")
    var subprocessPool: Int?
    @Option(
        name: .customLong("crash-report-grace"),
        help:
            "Seconds a crashed subprocess child may take to write its backtrace and exit before it is killed (EASYJOBS_CRASH_REPORT_GRACE, default 30)."
    )
    var crashReportGrace: Double?

    public func validate() throws {
        _ = try Seconds.flag(shutdownGrace, flag: "--shutdown-grace")
        _ = try crashReportSeconds()
        let queues = try parsedQueues()
        guard Set(queues.map(\.name)).count == queues.count else {
            throw ValidationError("--queue names a queue twice: \(queue.joined(separator: " "))")
        }
    }

    /// `--crash-report-grace` or `EASYJOBS_CRASH_REPORT_GRACE`, checked as a flag is.
    func crashReportSeconds() throws -> Duration {
        if let crashReportGrace { return try Seconds.flag(crashReportGrace, flag: "--crash-report-grace") }
        guard let text = Environment.value("EASYJOBS_CRASH_REPORT_GRACE") else { return HostOptions.defaultCrashReportGrace }
        guard let value = Double(text) else {
            throw ValidationError("EASYJOBS_CRASH_REPORT_GRACE must be a number of seconds, got '\(text)'")
        }
        return try Seconds.flag(value, flag: "EASYJOBS_CRASH_REPORT_GRACE")
    }

    /// The queues of `--queue` or `EASYJOBS_QUEUE`, in order.
    func parsedQueues() throws(EasyJobsError) -> [QueueWeight] {
        let texts =
            !queue.isEmpty
            ? queue : (Environment.value("EASYJOBS_QUEUE")?.split(separator: ",").map { String($0.filter { !$0.isWhitespace }) } ?? [])
        let queues = try texts.map { text throws(EasyJobsError) in try QueueWeight(parsing: text) }
        return queues.isEmpty ? [QueueWeight(name: "default")] : queues
    }

    public func resolve(manager: String, secret: String?, defaultPlugins: String?, dataDirectory: String?) -> HostOptions {
        let directory = plugins ?? Environment.value("EASYJOBS_PLUGINS") ?? defaultPlugins ?? "plugins"
        return HostOptions(
            managerURL: manager, secret: secret, pluginsDirectory: URL(fileURLWithPath: directory),
            queues: (try? parsedQueues()) ?? [QueueWeight(name: "default")], maxTasks: maxTasks, name: name,
            dataDirectory: URL(fileURLWithPath: dataDirectory ?? Environment.value("EASYJOBS_DATA_DIR") ?? ".easyjobs"),
            shutdownGrace: .seconds(shutdownGrace), crashReportGrace: (try? crashReportSeconds()) ?? HostOptions.defaultCrashReportGrace,
            recycleAfterReloads: recycleAfterReloads, recycleAboveRSSMB: recycleAboveRSSMB,
            subprocessPoolSize: subprocessPool ?? Environment.value("EASYJOBS_SUBPROCESS_POOL").flatMap { Int($0) } ?? 2)
    }
}

/// The child of a subprocess task, started by a host with its request on standard input.
public struct RunTaskCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "run-task", abstract: "Run one subprocess job (started by a host).", shouldDisplay: false)

    public init() {}

    public func run() async throws {
        let status = await TaskChild.main()
        if status != 0 { throw ExitCode(status) }
    }
}

/// Opens a plugin in this throwaway process and prints its description: how a host checks a
/// plugin before it opens it itself.
public struct DescribePluginCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "describe-plugin", abstract: "Describe a plugin file as a host would load it.", shouldDisplay: false)

    @Argument(help: "The plugin file.") var file: String
    @Option(help: "The file name refusals give.") var name: String?

    public init() {}

    public func run() async throws {
        do {
            let description = try PluginDescription.describe(file: URL(fileURLWithPath: file), name: name)
            print(String(decoding: try WireCoding.makeEncoder().encode(description), as: UTF8.self))
        } catch {
            fail(error)
        }
    }
}
