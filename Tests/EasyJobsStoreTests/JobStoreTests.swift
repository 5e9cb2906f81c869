import EasyJobsCore
import EasyJobsStore
import Foundation
import Testing

/// Whole seconds and exact binary fractions, so dates survive the REAL round trip bit for bit.
private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

private func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

@discardableResult
private func enqueue(
    _ store: any JobStore, count: Int, queue: String = "ETL", task: String = "extract"
) async throws -> [Job] {
    var jobs: [Job] = []
    for index in 0..<count {
        jobs.append(try await store.enqueue(NewJob(queue: queue, task: task, args: ["n": .int(index)], createdAt: at(Double(index)))))
    }
    return jobs
}

/// The contract of ``JobStore``, run against every store.
@Suite("Job store")
struct JobStoreTests {
    // MARK: Enqueue and read

    @Test(arguments: StoreKind.allCases) func enqueueAndReadBackPreservesArguments(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let args: [String: JSONValue] = [
                "url": "http://stats/a?b=c",
                "retries": 3,
                "ratio": 1.5,
                "negative": -7,
                "big": .int(Int.max),
                "flag": true,
                "nothing": .null,
                "nested": ["list": [1, 2.25, "x", .null, ["deep": ["deeper": 42]]], "empty": [:], "none": []],
                "unicode": "élan ✓ \"quoted\"",
            ]
            let enqueued = try await store.enqueue(NewJob(id: "job-1", queue: "ETL", task: "extract", args: args, createdAt: t0))
            #expect(enqueued.status == .queued)
            #expect(enqueued.attempts == 0)

            let read = try #require(try await store.job(id: "job-1"))
            #expect(read == enqueued)
            #expect(read.args == args)
            #expect(read.args["retries"] == .int(3))
            #expect(read.args["ratio"] == .double(1.5))
            #expect(read.args["big"] == .int(Int.max))
            #expect(read.createdAt == t0)
            #expect(read.result == nil && read.error == nil && read.hostID == nil && read.startedAt == nil)

            #expect(try await store.job(id: "missing") == nil)
        }
    }

    /// The store reads JSON with its own parser; every shape JSONEncoder writes must come back equal.
    @Test(arguments: StoreKind.allCases) func awkwardJSONSurvivesTheRoundTrip(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let awkward: JSONValue = [
                "escapes": "quote \" backslash \\ slash / newline \n tab \t return \r",
                "control": "\u{01}\u{1F}\u{7F}",
                "unicode": "日本語 😀 e\u{301} \u{2028}",
                "empty": "",
                "numbers": [0, -0.5, 1e-7, 6.02e23, .int(Int.min), .int(Int.max), -1, 123_456.789],
                "deep": [[[[[["bottom": [true, false, .null]]]]]]],
                "containers": [[:], [], [[]], ["": ""]],
            ]
            let job = try await store.enqueue(NewJob(queue: "ETL", task: "extract", args: ["value": awkward], createdAt: t0))
            _ = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 1, leaseDuration: 30, now: at(1))
            let finished = try await store.finish(jobID: job.id, lease: 1, hostID: "h1", outcome: .completed(awkward), now: at(2))
            #expect(finished?.args["value"] == awkward)
            #expect(finished?.result == awkward)
            #expect(try await store.job(id: job.id)?.result == awkward)

            for scalar: JSONValue in [1, 2.5, "text", true, .null, []] {
                let other = try await store.enqueue(NewJob(queue: "Scalars", task: "t", args: [:], createdAt: t0))
                _ = try await store.claim(queue: "Scalars", tasks: ["t"], hostID: "h1", limit: 1, leaseDuration: 30, now: at(1))
                #expect(try await store.finish(jobID: other.id, lease: 1, hostID: "h1", outcome: .completed(scalar), now: at(2))?.result == scalar)
            }
        }
    }

    @Test(arguments: StoreKind.allCases) func enqueueRejectsADuplicateID(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            _ = try await store.enqueue(NewJob(id: "same", queue: "ETL", task: "extract", args: [:]))
            let error = await #expect(throws: EasyJobsError.self) {
                try await store.enqueue(NewJob(id: "same", queue: "ETL", task: "load", args: [:]))
            }
            #expect(error?.code == .storeFailure)
            #expect(error?.message == "Could not enqueue jobs: a job with id 'same' already exists")
            #expect(try await store.job(id: "same")?.task == "extract")

            // A batch with one duplicate stores none of its jobs.
            let fresh = NewJob(queue: "ETL", task: "extract", args: [:])
            await #expect(throws: EasyJobsError.self) {
                try await store.enqueue([fresh, NewJob(id: "same", queue: "ETL", task: "load", args: [:])])
            }
            #expect(try await store.job(id: fresh.id) == nil)
        }
    }

    /// Thousands of jobs in one call (a store may split them into several statements) are
    /// stored whole and in order, or not at all.
    @Test(arguments: StoreKind.allCases) func aLargeBatchIsStoredInOrderOrNotAtAll(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let jobs = (0..<2_500).map { NewJob(queue: "ETL", task: "extract", args: ["n": .int($0)], createdAt: at(Double($0))) }
            try await store.enqueue(jobs)
            #expect(try await store.counts(queue: "ETL") == [.queued: 2_500])
            let claimed = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 3_000, leaseDuration: 30, now: at(3_000))
            #expect(claimed.map(\.id) == jobs.map(\.id))

            // The duplicate is the batch's last job, far past the first statement's worth.
            let refused =
                (0..<1_500).map { NewJob(queue: "Other", task: "extract", args: [:], createdAt: at(Double($0))) } + [
                    NewJob(id: jobs[0].id, queue: "Other", task: "extract", args: [:])
                ]
            await #expect(throws: EasyJobsError.self) { try await store.enqueue(refused) }
            #expect(try await store.counts(queue: "Other").isEmpty)
        }
    }

    /// Counts of some statuses (the metrics' gauges) count those and nothing else, per queue
    /// and over all queues.
    @Test(arguments: StoreKind.allCases) func countsOfSomeStatusesLeaveTheOthersOut(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.enqueue((0..<6).map { NewJob(queue: "ETL", task: "extract", args: [:], createdAt: at(Double($0))) })
            try await store.enqueue(NewJob(queue: "Other", task: "extract", args: [:], createdAt: at(10)))
            let claimed = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 3, leaseDuration: 30, now: at(20))
            for job in claimed.prefix(2) {
                _ = try await store.finish(jobID: job.id, lease: job.lease, hostID: "h1", outcome: .completed(.null), now: at(21))
            }
            #expect(try await store.counts(queue: "ETL") == [.queued: 3, .running: 1, .completed: 2])
            #expect(try await store.counts(queue: "ETL", statuses: [.queued, .running, .waiting]) == [.queued: 3, .running: 1])
            #expect(try await store.counts(queue: nil, statuses: [.queued]) == [.queued: 4])
            #expect(try await store.counts(queue: "ETL", statuses: [.failed]).isEmpty)
            #expect(try await store.counts(queue: "ETL", statuses: []).isEmpty)
        }
    }

    // MARK: Claim

    @Test(arguments: StoreKind.allCases) func claimIsFIFOAndHonoursTheLimit(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let jobs = try await enqueue(store, count: 5)

            let first = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 3, leaseDuration: 30, now: at(100))
            #expect(first.map(\.id) == jobs.prefix(3).map(\.id))
            for job in first {
                let stored = try #require(try await store.job(id: job.id))
                #expect(stored.status == .running)
                #expect(stored.hostID == "h1")
                #expect(job.attempts == 1)
                #expect(stored.startedAt == at(100))
                #expect(job.leaseExpiresAt == at(130))
            }
            #expect(try await store.job(id: jobs[0].id).map(ClaimedRun.init) == first[0])

            let rest = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h2", limit: 10, leaseDuration: 30, now: at(101))
            #expect(rest.map(\.id) == jobs.suffix(2).map(\.id))
            for run in rest { #expect(try await store.job(id: run.id)?.hostID == "h2") }

            #expect(try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 10, leaseDuration: 30, now: at(102)).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases) func claimTakesOnlyTheGivenQueueAndTasks(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let extract = try await store.enqueue(NewJob(queue: "ETL", task: "extract", args: [:], createdAt: at(0)))
            let load = try await store.enqueue(NewJob(queue: "ETL", task: "load", args: [:], createdAt: at(1)))
            let otherQueue = try await store.enqueue(NewJob(queue: "Other", task: "extract", args: [:], createdAt: at(2)))
            let transform = try await store.enqueue(NewJob(queue: "ETL", task: "transform", args: [:], createdAt: at(3)))

            #expect(try await store.claim(queue: "ETL", tasks: [], hostID: "h1", limit: 10, leaseDuration: 30, now: at(10)).isEmpty)
            #expect(try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 0, leaseDuration: 30, now: at(10)).isEmpty)
            #expect(try await store.job(id: extract.id)?.status == .queued)

            let claimed = try await store.claim(
                queue: "ETL", tasks: ["extract", "transform", "unknown"], hostID: "h1", limit: 10, leaseDuration: 30, now: at(10))
            #expect(claimed.map(\.id) == [extract.id, transform.id])

            #expect(try await store.job(id: load.id)?.status == .queued)
            #expect(try await store.job(id: otherQueue.id)?.status == .queued)
        }
    }

    /// Two stores on one database stand for two managers sharing it: each claim must be
    /// atomic across connections, not just within one process's writer.
    @Test(arguments: StoreKind.allCases) func concurrentClaimersNeverShareAJob(_ kind: StoreKind) async throws {
        try await kind.withStores(2) { stores in
            let store = stores[0]
            let jobs = try await enqueue(store, count: 200)
            let claimers = [("h1", stores[0]), ("h2", stores[1])]

            let results = try await withThrowingTaskGroup(of: (String, [String]).self) { group in
                for (hostID, claimer) in claimers {
                    group.addTask {
                        var ids: [String] = []
                        var tick = 0.0
                        while true {
                            tick += 1
                            let batch = try await claimer.claim(
                                queue: "ETL", tasks: ["extract"], hostID: hostID, limit: 7, leaseDuration: 30, now: at(tick))
                            if batch.isEmpty { return (hostID, ids) }
                            #expect(batch.allSatisfy { $0.attempts == 1 })
                            ids += batch.map(\.id)
                            await Task.yield()
                        }
                    }
                }
                return try await group.reduce(into: [String: [String]]()) { $0[$1.0] = $1.1 }
            }

            let first = try #require(results["h1"])
            let other = try #require(results["h2"])
            #expect(Set(first).isDisjoint(with: other))
            #expect(first.count + other.count == 200)
            #expect(Set(first + other) == Set(jobs.map(\.id)))
            let stored = try await store.jobs(JobFilter(statuses: [.running], limit: 1000))
            #expect(stored.count == 200)
        }
    }

    // MARK: Finish

    @Test(arguments: StoreKind.allCases) func onlyTheLeaseHolderCanFinish(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let job = try await store.enqueue(NewJob(queue: "ETL", task: "extract", args: [:], createdAt: t0))
            let claimed = try #require(
                try await store.claim(
                    queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 1, leaseDuration: 30, now: at(1)
                ).first)

            #expect(try await store.finish(jobID: job.id, lease: 1, hostID: "h2", outcome: .completed("stolen"), now: at(2)) == nil)
            #expect(try await store.job(id: job.id).map(ClaimedRun.init) == claimed)
            #expect(try await store.finish(jobID: "missing", lease: 1, hostID: "h1", outcome: .completed(1), now: at(2)) == nil)

            let finished = try #require(
                try await store.finish(jobID: job.id, lease: 1, hostID: "h1", outcome: .completed(["rows": 12, "mean": 0.5]), now: at(3)))
            #expect(finished.status == .completed)
            #expect(finished.result == ["rows": 12, "mean": 0.5])
            #expect(finished.error == nil)
            #expect(finished.finishedAt == at(3))
            #expect(finished.leaseExpiresAt == nil)
            #expect(finished.hostID == "h1")
            #expect(finished.attempts == 1)
            #expect(try await store.job(id: job.id) == finished)

            // A second report of the same run (a retried HTTP request) must not overwrite it.
            #expect(try await store.finish(jobID: job.id, lease: 1, hostID: "h1", outcome: .failed("late"), now: at(4)) == nil)
            #expect(try await store.job(id: job.id) == finished)
        }
    }

    @Test(arguments: StoreKind.allCases) func failureRecordsTheErrorAndANullResultIsKept(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let jobs = try await enqueue(store, count: 2)
            _ = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 2, leaseDuration: 30, now: at(10))

            let failed = try #require(try await store.finish(jobID: jobs[0].id, lease: 1, hostID: "h1", outcome: .failed("boom"), now: at(11)))
            #expect(failed.status == .failed)
            #expect(failed.error == "boom")
            #expect(failed.result == nil)

            // A completed run whose result is JSON null still has a result, distinct from "no result".
            let completed = try #require(try await store.finish(jobID: jobs[1].id, lease: 1, hostID: "h1", outcome: .completed(.null), now: at(11)))
            #expect(completed.result == .null)
            #expect(try await store.job(id: jobs[1].id)?.result == .null)
        }
    }

    // MARK: Leases

    @Test(arguments: StoreKind.allCases) func renewLeasesOnlyExtendsLeasesTheHostHolds(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let jobs = try await enqueue(store, count: 4)
            _ = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 2, leaseDuration: 30, now: at(10))
            _ = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h2", limit: 1, leaseDuration: 30, now: at(10))
            _ = try await store.finish(jobID: jobs[1].id, lease: 1, hostID: "h1", outcome: .completed(1), now: at(11))

            let renewed = try await store.renewLeases(
                hostID: "h1", jobs: [jobs[0].id, jobs[1].id, jobs[2].id, jobs[3].id, "missing"].map { LeasedJob(jobID: $0, lease: 1) }, until: at(100)
            )
            #expect(renewed == [LeasedJob(jobID: jobs[0].id, lease: 1)])
            // Another lease number of the same job is another run: not renewed.
            #expect(try await store.renewLeases(hostID: "h1", jobs: [LeasedJob(jobID: jobs[0].id, lease: 2)], until: at(200)).isEmpty)
            #expect(try await store.job(id: jobs[0].id)?.leaseExpiresAt == at(100))
            #expect(try await store.job(id: jobs[2].id)?.leaseExpiresAt == at(40))
            #expect(try await store.job(id: jobs[1].id)?.leaseExpiresAt == nil)

            #expect(try await store.renewLeases(hostID: "h1", jobs: [], until: at(200)).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases) func expiredLeasesGoBackToTheQueue(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let jobs = try await enqueue(store, count: 3)
            _ = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 3, leaseDuration: 30, now: at(10))
            _ = try await store.renewLeases(hostID: "h1", jobs: [LeasedJob(jobID: jobs[1].id, lease: 1)], until: at(100))
            _ = try await store.finish(jobID: jobs[2].id, lease: 1, hostID: "h1", outcome: .completed(1), now: at(20))

            #expect(try await store.requeueExpired(now: at(39), rules: RetryingRules()).retried.isEmpty)
            // Exactly at expiry the lease still holds: only a lease that ran out is taken back.
            #expect(try await store.requeueExpired(now: at(40), rules: RetryingRules()).retried.isEmpty)

            let requeued = try await store.requeueExpired(now: at(41), rules: RetryingRules()).retried
            #expect(requeued.map(\.id) == [jobs[0].id])
            let job = try #require(requeued.first)
            #expect(job.status == .queued)
            #expect(job.hostID == nil)
            #expect(job.leaseExpiresAt == nil)
            #expect(job.attempts == 1)
            #expect(job.lostLeases == 1)
            #expect(try await store.job(id: job.id) == job)
            #expect(try await store.job(id: jobs[2].id)?.status == .completed)
            #expect(try await store.job(id: jobs[1].id)?.status == .running)

            // The host that lost the lease can no longer report; the next claim counts a second attempt.
            #expect(try await store.finish(jobID: job.id, lease: 1, hostID: "h1", outcome: .completed(1), now: at(42)) == nil)
            let reclaimed = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h2", limit: 5, leaseDuration: 30, now: at(43))
            #expect(reclaimed.map(\.id) == [job.id])
            #expect(reclaimed.first?.attempts == 2)
            #expect(try await store.job(id: job.id)?.hostID == "h2")
            #expect(reclaimed.first?.lease == 2)

            #expect(try await store.requeueExpired(now: at(50), rules: RetryingRules()).retried.isEmpty)
        }
    }

    // MARK: Pull and listing

    /// Regression: concurrent pulls of one result all answered 200 (consumed once, atomically).
    @Test(arguments: StoreKind.allCases) func ofConcurrentPullsExactlyOneConsumes(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let job = try await store.enqueue(NewJob(queue: "ETL", task: "extract", args: [:], createdAt: t0))
            _ = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 1, leaseDuration: 30, now: at(1))
            _ = try await store.finish(jobID: job.id, lease: 1, hostID: "h1", outcome: .completed("once"), now: at(2))
            let firsts = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<16 {
                    group.addTask { try await store.pull(id: job.id, now: at(3 + Double(index)))?.first ?? false }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(firsts == 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func pullMarksAFinishedResultOnce(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try await store.pull(id: "missing", now: at(1)) == nil)

            let job = try await store.enqueue(NewJob(queue: "ETL", task: "extract", args: [:], createdAt: t0))
            let queued = try #require(try await store.pull(id: job.id, now: at(1)))
            #expect(queued.job.status == .queued && queued.job.pulledAt == nil && !queued.first)

            _ = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 1, leaseDuration: 30, now: at(2))
            #expect(try await store.pull(id: job.id, now: at(3))?.job.pulledAt == nil)
            _ = try await store.finish(jobID: job.id, lease: 1, hostID: "h1", outcome: .completed("done"), now: at(4))

            let pulled = try #require(try await store.pull(id: job.id, now: at(5)))
            #expect(pulled.first)
            #expect(pulled.job.pulledAt == at(5))
            #expect(pulled.job.result == "done")
            #expect(try await store.job(id: job.id)?.pulledAt == at(5))

            let again = try #require(try await store.pull(id: job.id, now: at(6)))
            #expect(!again.first)
            #expect(again.job.pulledAt == at(5))
            #expect(again.job == pulled.job)
        }
    }

    @Test(arguments: StoreKind.allCases) func listingFiltersNewestFirst(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let a = try await store.enqueue(NewJob(queue: "ETL", task: "extract", args: [:], createdAt: at(0)))
            let b = try await store.enqueue(NewJob(queue: "ETL", task: "load", args: [:], createdAt: at(1)))
            let c = try await store.enqueue(NewJob(queue: "Other", task: "extract", args: [:], createdAt: at(2)))
            let d = try await store.enqueue(NewJob(queue: "ETL", task: "extract", args: [:], createdAt: at(3)))
            _ = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 1, leaseDuration: 30, now: at(4))
            _ = try await store.finish(jobID: a.id, lease: 1, hostID: "h1", outcome: .completed(1), now: at(5))

            #expect(try await store.jobs(JobFilter()).map(\.id) == [d.id, c.id, b.id, a.id])
            #expect(try await store.jobs(JobFilter(limit: 2)).map(\.id) == [d.id, c.id])
            #expect(try await store.jobs(JobFilter(queue: "ETL")).map(\.id) == [d.id, b.id, a.id])
            #expect(try await store.jobs(JobFilter(task: "extract")).map(\.id) == [d.id, c.id, a.id])
            #expect(try await store.jobs(JobFilter(queue: "ETL", task: "extract", statuses: [.queued])).map(\.id) == [d.id])
            #expect(try await store.jobs(JobFilter(statuses: [.completed, .running])).map(\.id) == [a.id])
            #expect(try await store.jobs(JobFilter(statuses: [])).isEmpty)

            _ = try await store.pull(id: a.id, now: at(6))
            #expect(try await store.jobs(JobFilter(statuses: [.completed])).isEmpty)
            #expect(try await store.jobs(JobFilter(statuses: [.completed], excludePulled: false)).map(\.id) == [a.id])
        }
    }

    // MARK: Durability

    // MARK: Hosts

    @Test(arguments: StoreKind.allCases) func hostsAreUpsertedAndTouched(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let plugin = PluginInfo(
                name: "ETL", version: "1.2.0", sha256: String(repeating: "ab", count: 32), abi: "1",
                tasks: [TaskSpec(name: "extract", description: "Reads", parameters: [TaskParameter(name: "url", type: .string)])])
            let refused = RefusedPlugin(file: "/plugins/libBad.so", reason: "ABI 0 is not supported")
            var host = HostRecord(
                id: "h1", name: "worker-1", queue: "ETL", maxTasks: 4, plugins: [plugin], refused: [refused],
                registeredAt: at(0), lastSeen: at(0))

            #expect(try await store.hosts().isEmpty)
            try await store.saveHost(host)
            #expect(try await store.hosts() == [host])

            host.maxTasks = 8
            host.plugins = []
            host.lastSeen = at(5)
            host.queues = [QueueWeight(name: "ETL", weight: 5), QueueWeight(name: "Backfill")]
            try await store.saveHost(host)
            let other = HostRecord(
                id: "h0", name: "worker-0", queue: "Other", maxTasks: 1, plugins: [], refused: [], registeredAt: at(1), lastSeen: at(1))
            try await store.saveHost(other)
            #expect(try await store.hosts() == [other, host])

            #expect(try await store.touchHost(id: "h1", at: at(9)))
            #expect(try await store.hosts().first { $0.id == "h1" }?.lastSeen == at(9))
            #expect(try await store.touchHost(id: "unknown", at: at(9)) == false)
            #expect(try await store.hosts().count == 2)
        }
    }
}
