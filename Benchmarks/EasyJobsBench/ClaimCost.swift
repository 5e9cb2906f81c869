import EasyJobsCore
import EasyJobsPostgres
import EasyJobsStore
import Foundation

/// What one claim and one enqueue cost as the backlog grows, measured on the store itself (no
/// HTTP): a claim must read only the head of each served task's jobs, an enqueue only insert,
/// whatever lies queued.
enum ClaimCost {
    /// For each backlog size: fills `queue` up to it (timing enqueues on the way), then times
    /// `samples` claims of one job in two cases: the claimed task is at the head of the backlog,
    /// and the claimed task's jobs sit behind the whole backlog of another task (a host that
    /// serves only some of a queue's tasks). Prints the store's claim plan of both cases.
    static func run(store: any JobStore & ClaimPlanning, label: String, sizes: [Int], samples: Int) async throws {
        var filled = 0
        let queue = "backlog-\(UUID().uuidString.prefix(6))"
        // The timed enqueues join the head case's backlog, so they count towards its size.
        let batches = max(2, samples / 40)
        let timedJobs = samples + batches * EnqueueCost.batchSize
        for size in sizes.sorted() {
            // The head case's backlog: `size` jobs of task "t".
            try await fill(store, queue: queue, from: &filled, to: size - timedJobs)
            let enqueue = try await EnqueueCost.time(store: store, queue: queue, task: "t", singles: samples, batches: batches)
            filled += timedJobs
            try await fill(store, queue: queue, from: &filled, to: size)
            // Behind it, jobs of task "other" for the second case; claimed ones are topped up.
            try await store.enqueue((0..<samples).map { _ in NewJob(queue: queue, task: "other", args: [:]) })
            let headPlan = try await store.claimPlan(queue: queue, tasks: ["t"], limit: 1, now: .now)
            let behindPlan = try await store.claimPlan(queue: queue, tasks: ["other"], limit: 1, now: .now)
            let head = try await timeClaims(store: store, queue: queue, task: "t", samples: samples)
            let behind = try await timeClaims(store: store, queue: queue, task: "other", samples: samples)
            // Put the head case's backlog back to its size.
            try await store.enqueue((0..<samples).map { _ in NewJob(queue: queue, task: "t", args: [:]) })
            print(
                String(
                    format:
                        "claim cost (%@), %d queued: head of the queue p50 %.3f ms, p95 %.3f ms; task behind the whole backlog p50 %.3f ms, p95 %.3f ms",
                    label, filled, head.percentile(50), head.percentile(95), behind.percentile(50), behind.percentile(95)))
            print(
                String(
                    format:
                        "enqueue cost (%@), %d queued: one job per transaction p50 %.3f ms, p95 %.3f ms (%d); %d jobs per transaction p50 %.3f ms, p95 %.3f ms (%d)",
                    label, filled, enqueue.single.percentile(50), enqueue.single.percentile(95), enqueue.single.count,
                    EnqueueCost.batchSize, enqueue.batch.percentile(50), enqueue.batch.percentile(95), enqueue.batch.count))
            for (name, plan) in [("head of the queue", headPlan), ("task behind the whole backlog", behindPlan)] {
                print("claim plan (\(label)), \(filled) queued, \(name):")
                for line in plan { print("    " + line) }
            }
        }
    }

    /// Enqueues jobs of task "t" in batches until `filled` reaches `target`.
    private static func fill(_ store: any JobStore, queue: String, from filled: inout Int, to target: Int) async throws {
        while filled < target {
            let batch = min(5_000, target - filled)
            try await store.enqueue((0..<batch).map { _ in NewJob(queue: queue, task: "t", args: [:]) })
            filled += batch
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
        try await run(store: store, label: "SQLite", sizes: sizes, samples: samples)
    }

    static func postgres(url: String, sizes: [Int], samples: Int) async throws {
        try await PostgresJobStore.withStore(url: url) { store in
            try await run(store: store, label: "PostgreSQL", sizes: sizes, samples: samples)
        }
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
