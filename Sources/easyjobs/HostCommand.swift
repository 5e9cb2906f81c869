import ArgumentParser
import EasyJobsHost
import Foundation
import ServiceLifecycle

struct HostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "host", abstract: "Run a host: load the plugins of a directory and run their jobs.")

    @Option(help: "The manager's URL (EASYJOBS_MANAGER).") var manager: String?
    @Option(help: "Shared secret of the manager's host endpoints (EASYJOBS_SECRET).") var secret: String?
    @OptionGroup var flags: HostFlags
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (EASYJOBS_LOG_LEVEL).") var logLevel: String?

    func run() async throws {
        let logger = LogSetup.bootstrap(level: logLevel, label: "easyjobs.host")
        let options = flags.resolve(
            manager: manager ?? Environment.value("EASYJOBS_MANAGER") ?? "http://127.0.0.1:8220",
            secret: secret ?? Environment.value("EASYJOBS_SECRET"), defaultPlugins: nil)
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
struct HostFlags: ParsableArguments {
    @Option(help: "Directory whose *.so plugins are loaded (EASYJOBS_PLUGINS).") var plugins: String?
    @Option(help: "The queue to serve (EASYJOBS_QUEUE).") var queue: String?
    @Option(name: .customLong("max-tasks"), help: "Jobs run at once.") var maxTasks = 5
    @Option(help: "The host's name in the manager's views.") var name: String?
    @Option(name: .customLong("shutdown-grace"), help: "On SIGTERM, seconds running jobs may go on before they are handed back.")
    var shutdownGrace: Double = 30

    func resolve(manager: String, secret: String?, defaultPlugins: String?) -> HostOptions {
        let directory = plugins ?? Environment.value("EASYJOBS_PLUGINS") ?? defaultPlugins ?? "plugins"
        return HostOptions(
            managerURL: manager, secret: secret, pluginsDirectory: URL(fileURLWithPath: directory),
            queue: queue ?? Environment.value("EASYJOBS_QUEUE") ?? "default", maxTasks: maxTasks, name: name,
            shutdownGrace: shutdownGrace)
    }
}

/// The child of a subprocess task, started by a host with its request on standard input.
struct RunTaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-task", abstract: "Run one subprocess job (started by a host).", shouldDisplay: false)

    func run() async throws {
        let status = await TaskChild.main()
        if status != 0 { throw ExitCode(status) }
    }
}
