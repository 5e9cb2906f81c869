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
    /// How often the holder looks for due schedules (a read).
    let interval: Duration = .milliseconds(100)
    /// How long a take of the lock holds it; a manager that stops renewing loses it after this.
    let lease: TimeInterval = 5
    /// How often the holder renews the lock. A renewal is a write, a WAL page: renewing at every
    /// look for due schedules made an idle manager write 80 KB a second (7 GB a day) of nothing.
    var renewal: TimeInterval { lease / 3 }
    /// How often a manager that does not hold the lock tries to take it; a take that fails
    /// changes no row and writes nothing.
    let takeoverInterval: TimeInterval = 1

    func run() async throws {
        var holding: Bool?
        /// Until when this manager holds the lock, by its last successful take.
        var heldUntil: Date?
        var nextTake = Date.distantPast
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let now = Date()
                if now >= nextTake {
                    let until = now.addingTimeInterval(lease)
                    let held = try await coordinator.store.acquireLock(name: "scheduler", owner: owner, until: until, now: now)
                    heldUntil = held ? until : nil
                    nextTake = now.addingTimeInterval(held ? renewal : takeoverInterval)
                    if held != holding {
                        logger.info(held ? "this manager fires the schedules" : "another manager fires the schedules")
                        holding = held
                    }
                }
                // A renewal that failed (the store was away) leaves the lock held until its take ran out.
                if let heldUntil, now < heldUntil {
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
