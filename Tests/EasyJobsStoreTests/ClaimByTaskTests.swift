import EasyJobsCore
import EasyJobsStore
import Foundation
import Testing

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

private func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

/// Retries every failure after 1,000 s: what leaves a queued job that is not ready yet.
private struct BackoffRules: JobRules {
    func retryDelay(for job: Job) -> TimeInterval? { 1_000 }
    func followUps(of job: Job) -> [NewJob] { [] }
}

/// Claims read each served task's jobs from the per-task index (issue 14): a host serving only
/// some of a queue's tasks must not pay for the backlog of the others, and reading per task
/// must still give one FIFO order across the tasks.
@Suite("Claims by task")
struct ClaimByTaskTests {
    /// Regression: the claim walked the queue's (queue, seq) index and filtered by task, so a
    /// task queued behind another task's backlog cost a walk of that backlog (0.25 s at 1 M).
    @Test(arguments: StoreKind.allCases) func aTaskBehindAnotherTasksBacklogIsFoundThroughThePerTaskIndex(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let planner = try #require(store as? any ClaimPlanning)
            try await store.enqueue((0..<2_000).map { NewJob(queue: "ETL", task: "backlog", args: ["n": .int($0)], createdAt: at(0)) })
            try await store.enqueue((0..<3).map { NewJob(queue: "ETL", task: "late", args: ["n": .int($0)], createdAt: at(1)) })
            try await store.enqueue([NewJob(queue: "ETL", task: "later", args: [:], createdAt: at(2))])

            for tasks: Set<String> in [["late"], ["late", "later"]] {
                let plan = try await planner.claimPlan(queue: "ETL", tasks: tasks, limit: 1, now: at(10))
                let text = plan.joined(separator: "\n")
                // One read of jobs_claim_task per task, and no other way into the table.
                #expect(plan.count { $0.contains("jobs_claim_task") } == tasks.count, "\(text)")
                #expect(!plan.contains { $0.contains("jobs_claim ") }, "\(text)")
                #expect(!plan.contains { $0.contains("SCAN jobs") || $0.contains("Seq Scan") || $0.contains("jobs_pkey") }, "\(text)")
            }
            // The plan claims nothing.
            let claimed = try await store.claim(queue: "ETL", tasks: ["late"], hostID: "h1", limit: 5, leaseDuration: 30, now: at(10))
            #expect(claimed.count == 3)
        }
    }

    /// Many tasks enqueued interleaved, some jobs backing off: every claim takes the oldest
    /// ready jobs of the served tasks in seq order across tasks, never more than `limit`, never
    /// a job whose `runAt` has not come, nor one of a task or queue not asked for.
    @Test(arguments: StoreKind.allCases) func claimsAreFIFOAcrossManyTasksWithinTheLimitAndRunAt(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let served: [String] = (0..<6).map { "task\($0)" }
            // The two oldest jobs fail once and back off until at(1_010).
            let early = [
                try await store.enqueue(NewJob(queue: "ETL", task: served[0], args: [:], createdAt: at(0), maxAttempts: 3)),
                try await store.enqueue(NewJob(queue: "ETL", task: served[3], args: [:], createdAt: at(0), maxAttempts: 3)),
            ]
            let runs = try await store.claim(queue: "ETL", tasks: Set(served), hostID: "h0", limit: 10, leaseDuration: 30, now: at(5))
            #expect(runs.map(\.id) == early.map(\.id))
            let transitions = try await store.finish(
                runs.map { JobReport(jobID: $0.id, lease: $0.lease, outcome: .failed("flaky")) }, hostID: "h0", now: at(10), rules: BackoffRules())
            #expect(transitions.retried.map(\.runAt) == [at(1_010), at(1_010)])

            // Interleaved: a task's jobs come in bursts of 1 to 4 among the others', with jobs of
            // a task not served and of another queue in between.
            var expected: [String] = []
            var generator = SplitMix(seed: 14)
            for index in 0..<90 {
                let task = served[Int(generator.next() % 6)]
                for _ in 0..<(1 + Int(generator.next() % 4)) {
                    expected.append(try await store.enqueue(NewJob(queue: "ETL", task: task, args: ["n": .int(index)], createdAt: at(20))).id)
                }
                if index % 7 == 0 {
                    try await store.enqueue(NewJob(queue: "ETL", task: "unserved", args: [:], createdAt: at(20)))
                    try await store.enqueue(NewJob(queue: "Other", task: task, args: [:], createdAt: at(20)))
                }
            }

            let batches = try await claimUntilEmpty(store, tasks: Set(served), hostID: "h1", limit: 7, from: 100)
            #expect(
                batches.allSatisfy { batch in
                    batch.allSatisfy { served.contains($0.task) && $0.queue == "ETL" }
                })
            let claimed = batches.flatMap { $0.map(\.id) }
            let sizes = batches.map(\.count)
            // Every claim but the last was full, and together they are the enqueue order.
            #expect(claimed == expected)
            #expect(sizes.dropLast().allSatisfy { $0 == 7 })

            // Once their time comes, the backed-off jobs are the oldest again, in their order.
            let retried = try await store.claim(queue: "ETL", tasks: Set(served), hostID: "h1", limit: 7, leaseDuration: 30, now: at(1_010))
            #expect(retried.map(\.id) == early.map(\.id))
            #expect(retried.allSatisfy { $0.attempts == 2 })
            let counts = try await store.counts(queue: "ETL")
            #expect(counts[.queued] == 13)
        }
    }

    /// Two managers claiming many tasks at once: every arm of a claim locks its own rows
    /// (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so a job is never taken twice, and rows an arm
    /// locked but did not take are free again for the next claim.
    @Test(arguments: StoreKind.allCases) func concurrentClaimsOfManyTasksNeverShareAJob(_ kind: StoreKind) async throws {
        try await kind.withStores(2) { stores in
            let served: Set<String> = ["a", "b", "c", "d"]
            let jobs = (0..<400).map { NewJob(queue: "ETL", task: ["a", "b", "c", "d"][($0 * 7 / 3) % 4], args: ["n": .int($0)], createdAt: at(0)) }
            try await stores[0].enqueue(jobs)

            let claims = try await withThrowingTaskGroup(of: [ClaimedRun].self) { group in
                for (index, store) in stores.enumerated() {
                    for claimer in 0..<3 {
                        group.addTask {
                            let batches = try await claimUntilEmpty(store, tasks: served, hostID: "m\(index)-h\(claimer)", limit: 5, from: 0)
                            // FIFO within a claim: enqueue order is the order of "n".
                            #expect(batches.allSatisfy { $0.map(number) == $0.map(number).sorted() })
                            return batches.flatMap { $0 }
                        }
                    }
                }
                return try await group.reduce(into: [ClaimedRun]()) { $0 += $1 }
            }

            #expect(claims.count == 400)
            #expect(Set(claims.map(\.id)) == Set(jobs.map(\.id)))
            #expect(claims.allSatisfy { $0.attempts == 1 && $0.lease == 1 })
            #expect(try await stores[1].counts(queue: "ETL") == [.running: 400])
        }
    }
}

/// Claims jobs of queue "ETL" until a claim comes back empty, one tick later each time after
/// `tick`; returns the claims' jobs, one array per claim (none longer than `limit`).
private func claimUntilEmpty(_ store: any JobStore, tasks: Set<String>, hostID: String, limit: Int, from tick: Double) async throws -> [[ClaimedRun]]
{
    var batches: [[ClaimedRun]] = []
    var tick = tick
    while true {
        tick += 1
        let batch = try await store.claim(queue: "ETL", tasks: tasks, hostID: hostID, limit: limit, leaseDuration: 30, now: at(tick))
        if batch.isEmpty { return batches }
        #expect(batch.count <= limit)
        batches.append(batch)
    }
}

/// The "n" argument a test job was enqueued with.
private func number(_ job: ClaimedRun) -> Int {
    if case .int(let number) = job.args["n"] { return number }
    return -1
}

/// A small deterministic generator (SplitMix64), so the interleaving is the same every run.
private struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
