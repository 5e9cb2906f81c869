import EasyJobsClient
import EasyJobsCore
import Logging
import ServiceLifecycle

/// Tells the manager what this host offers now: at start, after every plugin change, and when
/// the manager has forgotten the host.
struct Registrar: Sendable {
    let client: ManagerClient
    let hostID: String
    let options: HostOptions
    let catalog: PluginCatalog
    let logger: Logger

    var registration: HostRegistration {
        HostRegistration(
            hostID: hostID, name: options.name, queues: options.queues, maxTasks: options.maxTasks,
            plugins: catalog.plugins.map(\.info), refused: catalog.refused)
    }

    /// Registers until the manager accepts, backing off while it is away. `nil` on shutdown.
    @discardableResult
    func register() async -> HostRegistrationResponse? {
        var backoff = Backoff(initial: .milliseconds(100), maximum: options.maxReconnectDelay)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let registration = self.registration
            do {
                let response = try await client.register(registration)
                logger.info(
                    "registered with the manager",
                    metadata: [
                        "manager": "\(options.managerURL)", "queues": "\(options.queues.map(\.description).joined(separator: ","))",
                        "tasks": "\(registration.plugins.flatMap(\.tasks).map(\.name).sorted().joined(separator: ","))",
                    ])
                return response
            } catch let error as EasyJobsError where error.code != .managerUnavailable {
                logger.error("the manager refused the registration: \(error.message); retrying in \(backoff.current.secondsText) s")
            } catch {
                logger.warning("cannot reach the manager, retrying in \(backoff.current.secondsText) s: \(error)")
            }
            let pause = backoff.next()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
        return nil
    }
}
