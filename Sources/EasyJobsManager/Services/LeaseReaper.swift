import Logging
import ServiceLifecycle

/// Hands back the jobs of hosts that stopped heartbeating, once their lease runs out, queues
/// waiting jobs whose dependencies are done and scheduled jobs whose time came, and ends jobs
/// not started by their deadline.
struct LeaseReaper: Service {
    let coordinator: Coordinator
    let logger: Logger

    func run() async throws {
        let interval = coordinator.options.reapInterval
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                _ = try await coordinator.requeueExpired()
                try await coordinator.releaseReadyJobs()
            } catch {
                logger.error("cannot hand back expired jobs: \(error)")
            }
            // Apart: a failure above must not keep due jobs waiting or overdue jobs alive.
            do {
                try await coordinator.sweepDueJobs()
            } catch {
                logger.error("cannot queue due jobs or expire overdue ones: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
