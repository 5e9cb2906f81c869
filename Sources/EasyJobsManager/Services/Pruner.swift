import EasyJobsStore
import Foundation
import Logging
import ServiceLifecycle

/// Deletes finished jobs, their results and logs once they are older than the retention
/// period, in batches, so the database stays the size of recent work.
struct Pruner: Service {
    let store: any JobRetention
    /// How long finished jobs are kept.
    let retain: Duration
    let interval: Duration
    let logger: Logger
    let batch = 1_000

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                var deleted = 0
                let cutoff = Date().addingTimeInterval(-retain.inSeconds)
                while !Task.isShuttingDownGracefully {
                    let count = try await store.prune(finishedBefore: cutoff, limit: batch)
                    deleted += count
                    if count < batch { break }
                    // Let other writers in between batches.
                    await Task.yield()
                }
                if deleted > 0 {
                    logger.info(
                        "pruned finished jobs older than the retention period",
                        metadata: ["deleted": "\(deleted)", "retain_s": "\(retain.secondsText)"])
                }
            } catch {
                logger.error("cannot prune finished jobs: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
