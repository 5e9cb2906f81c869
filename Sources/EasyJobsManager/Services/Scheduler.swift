import EasyJobsCore
import Foundation
import Logging
import ServiceLifecycle

/// Fires cron schedules. Several managers may share a store: the one that holds the
/// `scheduler` lock fires, and each fire is a compare-and-set on the schedule's last fire time,
/// so a time is fired once even if two managers briefly both think they hold the lock.
struct Scheduler: Service {
    let coordinator: Coordinator
    let logger: Logger
    /// Identifies this manager as the lock's owner.
    let owner = UUID().uuidString
    let interval: Duration = .milliseconds(100)
    let lease: TimeInterval = 5

    func run() async throws {
        var holding: Bool?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let now = Date()
                let held = try await coordinator.store.acquireLock(name: "scheduler", owner: owner, until: now.addingTimeInterval(lease), now: now)
                if held != holding {
                    logger.info(held ? "this manager fires the schedules" : "another manager fires the schedules")
                    holding = held
                }
                if held {
                    for schedule in try await coordinator.store.schedules() {
                        try await coordinator.fireDue(schedule, now: now)
                    }
                }
            } catch {
                logger.error("scheduler: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
