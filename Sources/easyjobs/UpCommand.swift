import EasyJobsHostCLI
import ArgumentParser
import EasyJobsHost
import EasyJobsManager
import Foundation
import Hummingbird
import ServiceLifecycle

struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run a manager and a host together in one process (on the embedded SQLite store unless --store says otherwise).",
        discussion: "Plugins default to the directory this executable was built into, where SwiftPM puts the example plugins.")

    @OptionGroup var manager: ManagerFlags
    @OptionGroup var host: HostFlags

    func run() async throws {
        let logger = LogSetup.bootstrap(level: manager.logLevel, label: "easyjobs")
        do {
            let managerOptions = try manager.resolve()
            let store = try manager.openStore(managerOptions, logger: logger)
            let url = "http://\(managerOptions.host):\(managerOptions.port)"
            let buildDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
            let hostOptions = host.resolve(
                manager: url, secret: managerOptions.secret, defaultPlugins: buildDirectory, dataDirectory: managerOptions.dataDirectory.path)
            let managerService = ManagerService(store: store, options: managerOptions, logger: logger) { url in
                announce("EasyJobs is up: API at \(url), plugins from \(hostOptions.pluginsDirectory.path), queue \(hostOptions.queue)")
            }
            let hostService = HostService(options: hostOptions, logger: logger)
            let group = ServiceGroup(
                configuration: .init(
                    services: store.services + [managerService, hostService], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        } catch {
            fail(error)
        }
    }
}
