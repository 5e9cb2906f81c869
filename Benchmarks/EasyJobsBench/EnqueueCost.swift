import EasyJobsStore
import Foundation

/// What storing new jobs costs as the backlog grows, measured on the store itself (no HTTP):
/// every queued job sits in the claim indexes, so an enqueue must stay one insert into each,
/// whatever their size.
enum EnqueueCost {
    /// Milliseconds per transaction: `singles` enqueues of one job each, then `batches`
    /// enqueues of `batchSize` jobs each, all of `task` on `queue` (they join the backlog).
    struct Times {
        var single: [Double] = []
        var batch: [Double] = []
    }

    static let batchSize = 100

    static func time(store: any JobStore, queue: String, task: String, singles: Int, batches: Int) async throws -> Times {
        var times = Times()
        for _ in 0..<singles {
            let job = NewJob(queue: queue, task: task, args: [:])
            let start = ContinuousClock.now
            try await store.enqueue([job])
            times.single.append((ContinuousClock.now - start).milliseconds)
        }
        for _ in 0..<batches {
            let jobs = (0..<batchSize).map { _ in NewJob(queue: queue, task: task, args: [:]) }
            let start = ContinuousClock.now
            try await store.enqueue(jobs)
            times.batch.append((ContinuousClock.now - start).milliseconds)
        }
        return times
    }
}
