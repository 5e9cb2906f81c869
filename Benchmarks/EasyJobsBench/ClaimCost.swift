import EasyJobsCore
import EasyJobsPostgres
import EasyJobsStore
import Foundation

/// What one claim costs as the backlog grows, measured on the store itself (no HTTP): the
/// claim must read the head of its queue's index, whatever lies behind it.
enum ClaimCost {
    /// For each backlog size: fills `queue` up to it, then times `samples` claims of one job.
    /// Two cases: the claimed task is at the head of the backlog, and the claimed task's jobs
    /// sit behind the whole backlog of another task (a host that serves only some of a queue's tasks).
    static func run(store: any JobStore, label: String, sizes: [Int], samples: Int, plan: ((String, Set<String>) async throws -> [String])?) async throws {
        var filled = 0
        let queue = "backlog-\(UUID().uuidString.prefix(6))"
        for size in sizes.sorted() {
            // The head case's backlog: `size` jobs of task "t".
            while filled < size {
                let batch = min(5_000, size - filled)
                try await store.enqueue((0..<batch).map { _ in NewJob(queue: queue, task: "t", args: [:]) })
                filled += batch
            }
            // Behind it, jobs of task "other" for the second case; claimed ones are topped up.
            try await store.enqueue((0..<samples).map { _ in NewJob(queue: queue, task: "other", args: [:]) })
            let head = try await timeClaims(store: store, queue: queue, task: "t", samples: samples)
            let behind = try await timeClaims(store: store, queue: queue, task: "other", samples: samples)
            // Put the head case's backlog back to `size`.
            try await store.enqueue((0..<samples).map { _ in NewJob(queue: queue, task: "t", args: [:]) })
            print(String(
                format: "claim cost (%@), %d queued: head of the queue p50 %.3f ms, p95 %.3f ms; task behind the whole backlog p50 %.3f ms, p95 %.3f ms",
                label, size, head.percentile(50), head.percentile(95), behind.percentile(50), behind.percentile(95)))
            if let plan {
                print("claim plan (\(label)), \(size) queued, head of the queue:")
                for line in try await plan(queue, ["t"]) { print("    " + line) }
            }
        }
    }

    private static func timeClaims(store: any JobStore, queue: String, task: String, samples: Int) async throws -> [Double] {
        var times: [Double] = []
        for _ in 0..<samples {
            let start = ContinuousClock.now
            let claimed = try await store.claim(queue: queue, tasks: [task], hostID: "bench", limit: 1, leaseDuration: 3600, now: .now)
            times.append((ContinuousClock.now - start).milliseconds)
            guard claimed.count == 1 else { throw BenchmarkError("a claim of '\(task)' found nothing") }
        }
        return times
    }

    static func sqlite(path: String, sizes: [Int], samples: Int) async throws {
        let store = try SQLiteJobStore(path: path)
        try await run(store: store, label: "SQLite", sizes: sizes, samples: samples, plan: nil)
    }

    static func postgres(url: String, sizes: [Int], samples: Int) async throws {
        try await PostgresJobStore.withStore(url: url) { store in
            try await run(store: store, label: "PostgreSQL", sizes: sizes, samples: samples) { queue, tasks in
                try await store.claimPlan(queue: queue, tasks: tasks, limit: 1, now: .now)
            }
        }
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
