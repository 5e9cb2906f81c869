import EasyJobsCore
import EasyJobsStore
import Foundation

/// A job's whole life on the SQLite store alone (no HTTP, no host): enqueued in batches of
/// 1,000, claimed 1,000 at a time, ended 500 per report, as the manager drives the store under
/// the batched workload. What it reaches bounds every end-to-end figure on SQLite, whose one
/// writer does this work for every job. Prints the CPU time per job besides the rate: on a
/// shared machine the CPU time moves less from run to run than the wall time, so two builds are
/// compared by alternating their runs and taking the median of each.
enum StoreCycle {
    static func run(jobs: Int) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-cycle-\(UUID().uuidString.prefix(8)).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteJobStore(path: path)
        let now = Date()
        let start = ContinuousClock.now
        let cpuBefore = cpuSeconds()
        var done = 0
        while done < jobs {
            let count = min(1_000, jobs - done)
            try await store.enqueue((0..<count).map { _ in NewJob(queue: "cycle", task: "noop", args: [:], createdAt: now) })
            let claimed = try await store.claim(queue: "cycle", tasks: ["noop"], hostID: "h", limit: count, leaseDuration: 60, now: now)
            for part in stride(from: 0, to: claimed.count, by: 500) {
                let reports = claimed[part..<min(part + 500, claimed.count)].map {
                    JobReport(jobID: $0.id, lease: $0.lease, outcome: .completed(.null))
                }
                let transitions = try await store.finish(reports, hostID: "h", now: now, rules: FinalRules())
                guard transitions.rejected.isEmpty else { throw BenchmarkError("the store refused \(transitions.rejected.count) reports") }
            }
            done += claimed.count
        }
        let seconds = (ContinuousClock.now - start).inSeconds
        let cpu = cpuSeconds() - cpuBefore
        let counts = try await store.counts(queue: "cycle")
        guard counts == [.completed: jobs] else { throw BenchmarkError("the cycle ended with \(counts)") }
        print(
            String(
                format: "store cycle: %d jobs enqueued, claimed and ended in %.2f s (%.0f jobs/s), %.1f µs of CPU per job", jobs, seconds,
                Double(jobs) / seconds, cpu / Double(jobs) * 1e6))
    }

    /// User and system CPU time of this process so far.
    private static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let seconds = { (time: timeval) in Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
