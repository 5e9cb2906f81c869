import EasyJobsCore
import EasyJobsStore
import Foundation
import Testing

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

private func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

private func job(
    _ id: String, task: String = "t", args: [String: JSONValue] = [:], created: Double = 0, status: JobStatus = .queued,
    origin: JobOrigin = .api, dependencies: Int = 0, runAt: Double? = nil, priority: Int = 0, expiresAt: Double? = nil,
    uniqueness: Uniqueness? = nil
) -> NewJob {
    var new = NewJob(
        id: id, queue: "Q", task: task, args: args, createdAt: at(created), status: status, origin: origin, dependencies: dependencies)
    new.runAt = runAt.map(at)
    new.priority = priority
    new.expiresAt = expiresAt.map(at)
    new.uniqueness = uniqueness
    return new
}

/// The job features of issue 16 as the stores keep them: delayed jobs, priorities, unique
/// enqueues and deadlines, against every store.
@Suite("Job features in the store")
struct JobFeatureStoreTests {
    @Test(arguments: StoreKind.allCases) func aScheduledJobWaitsForItsTimeThenIsClaimed(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.enqueue([job("later", status: .scheduled, runAt: 100), job("now", created: 1)])
            #expect(try await store.job(id: "later")?.status == .scheduled)
            #expect(try await store.job(id: "later")?.runAt == at(100))
            let early = try await store.claim(queue: "Q", tasks: ["t"], hostID: "h", limit: 10, leaseDuration: 30, now: at(50))
            #expect(early.map(\.id) == ["now"])
            #expect(try await store.job(id: "later")?.status == .scheduled)
            // A claim at its time queues it and takes it.
            let due = try await store.claim(queue: "Q", tasks: ["t"], hostID: "h", limit: 10, leaseDuration: 30, now: at(100))
            #expect(due.map(\.id) == ["later"])
            #expect(try await store.job(id: "later")?.status == .running)
        }
    }

    @Test(arguments: StoreKind.allCases) func promotionQueuesDueJobsOfEveryQueueAndCancelEndsAScheduledOne(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            var other = job("other", status: .scheduled, runAt: 10)
            other.queue = "R"
            try await store.enqueue([job("a", status: .scheduled, runAt: 10), other, job("b", status: .scheduled, runAt: 1_000)])
            #expect(try await store.promoteScheduled(queue: nil, now: at(5)) == 0)
            #expect(try await store.promoteScheduled(queue: nil, now: at(10)) == 2)
            #expect(try await store.job(id: "a")?.status == .queued)
            #expect(try await store.job(id: "other")?.status == .queued)
            #expect(try await store.job(id: "b")?.status == .scheduled)
            let cancelled = try #require(try await store.cancel(jobID: "b", now: at(11), rules: FinalRules()))
            #expect(cancelled.job.status == .cancelled)
        }
    }

    @Test(arguments: StoreKind.allCases) func claimsTakeTheHighestPriorityFirstThenTheOldest(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.enqueue([
                job("low-old", task: "a", created: 0, priority: -5),
                job("mid-old", task: "b", created: 1),
                job("high-new", task: "a", created: 2, priority: 10),
                job("mid-new", task: "a", created: 3),
                job("high-newest", task: "b", created: 4, priority: 10),
            ])
            let first = try await store.claim(queue: "Q", tasks: ["a", "b"], hostID: "h", limit: 3, leaseDuration: 30, now: at(10))
            #expect(first.map(\.id) == ["high-new", "high-newest", "mid-old"])
            #expect(first.map(\.priority) == [10, 10, 0])
            let rest = try await store.claim(queue: "Q", tasks: ["a", "b"], hostID: "h", limit: 3, leaseDuration: 30, now: at(10))
            #expect(rest.map(\.id) == ["mid-new", "low-old"])
        }
    }

    @Test(arguments: StoreKind.allCases) func aRepeatedKeyAnswersTheFirstJobAndStoresNothingOfItsPlan(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let key = Uniqueness(key: "key:order-1", requiresSameJob: true)
            let first = try await store.enqueue([job("first", args: ["n": 1], uniqueness: key)])
            #expect(first.isEmpty)
            // The repeat has a run_before dependency planned with it: neither is stored.
            let matched = try await store.enqueue([
                job("again", args: ["n": 1], status: .waiting, dependencies: 1, uniqueness: key),
                job("again-dependency", task: "d", origin: JobOrigin(.runBefore, parent: "again")),
                job("unrelated", task: "u"),
            ])
            #expect(matched.mapValues(\.id) == ["again": "first"])
            #expect(try await store.job(id: "again") == nil)
            #expect(try await store.job(id: "again-dependency") == nil)
            #expect(try await store.job(id: "unrelated") != nil)
            // The key matches whatever became of the job.
            _ = try await store.claim(queue: "Q", tasks: ["t"], hostID: "h", limit: 1, leaseDuration: 30, now: at(1))
            #expect(try await store.enqueue([job("third", args: ["n": 1], uniqueness: key)]).mapValues(\.id) == ["third": "first"])
            // Two of one batch: the second matches the first.
            let pair = try await store.enqueue([
                job("p1", args: ["n": 2], uniqueness: Uniqueness(key: "key:pair")),
                job("p2", args: ["n": 2], uniqueness: Uniqueness(key: "key:pair")),
            ])
            #expect(pair.mapValues(\.id) == ["p2": "p1"])
        }
    }

    @Test(arguments: StoreKind.allCases) func aKeyReusedForOtherArgumentsIsRefusedAndTheBatchIsNotStored(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let key = Uniqueness(key: "key:k", requiresSameJob: true)
            try await store.enqueue([job("first", args: ["n": 1], uniqueness: key)])
            await #expect {
                try await store.enqueue([job("innocent", task: "u"), job("other", args: ["n": 2], uniqueness: key)])
            } throws: { error in
                (error as? EasyJobsError)?.code == .idempotencyConflict && "\(error)".contains("first")
            }
            #expect(try await store.job(id: "innocent") == nil)
            #expect(try await store.job(id: "other") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases) func uniqueForMatchesWithinItsPeriodAndNotFailedJobs(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            func unique(since: Double) -> Uniqueness { Uniqueness(key: "args:x", since: at(since), ignoring: [.failed, .cancelled, .expired]) }
            try await store.enqueue([job("a", created: 0, uniqueness: unique(since: -60))])
            // Within the period: a repeat.
            #expect(try await store.enqueue([job("b", created: 30, uniqueness: unique(since: -30))]).mapValues(\.id) == ["b": "a"])
            // After it: a new job.
            #expect(try await store.enqueue([job("c", created: 90, uniqueness: unique(since: 30))]).isEmpty)
            // A job that ended cancelled does not count.
            _ = try await store.cancel(jobID: "c", now: at(91), rules: FinalRules())
            #expect(try await store.enqueue([job("d", created: 92, uniqueness: unique(since: 32))]).isEmpty)
            #expect(try await store.job(id: "d")?.status == .queued)
        }
    }

    @Test(arguments: StoreKind.allCases) func aJobNotStartedByItsDeadlineExpiresAndFailsItsWaitingParent(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.enqueue([
                job("parent", task: "p", status: .waiting, dependencies: 1, expiresAt: 500),
                job("dependency", task: "d", origin: JobOrigin(.runBefore, parent: "parent"), expiresAt: 50),
                job("scheduled", status: .scheduled, runAt: 10, expiresAt: 40),
                job("fresh", expiresAt: 1_000),
            ])
            // A claim never takes a job past its deadline, even before the sweep ends it.
            #expect(try await store.claim(queue: "Q", tasks: ["d"], hostID: "h", limit: 5, leaseDuration: 30, now: at(60)).isEmpty)
            let swept = try await store.expireOverdue(now: at(60), rules: FinalRules())
            #expect(Set(swept.finished.map(\.id)) == ["dependency", "scheduled", "parent"])
            let dependency = try #require(try await store.job(id: "dependency"))
            #expect(dependency.status == .expired)
            #expect(dependency.error?.contains("not started by its deadline") == true)
            #expect(dependency.finishedAt == at(60))
            #expect(try await store.job(id: "scheduled")?.status == .expired)
            let parent = try #require(try await store.job(id: "parent"))
            #expect(parent.status == .failed)
            #expect(parent.error?.contains("was expired") == true)
            #expect(try await store.job(id: "fresh")?.status == .queued)
            // Nothing is swept twice; a running job never expires.
            #expect(try await store.claim(queue: "Q", tasks: ["t"], hostID: "h", limit: 5, leaseDuration: 30, now: at(61)).map(\.id) == ["fresh"])
            #expect(try await store.expireOverdue(now: at(2_000), rules: FinalRules()).finished.isEmpty)
            // Expired jobs are finished: discarded like the others.
            #expect(try await store.discard(jobID: "scheduled"))
        }
    }

    @Test(arguments: StoreKind.allCases) func deadJobsAreQueuedAgainInPlaceOrDiscardedInBulk(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.enqueue([
                job("a1", task: "a", created: 0), job("a2", task: "a", created: 1), job("b1", task: "b", created: 2),
                job("cancelled", task: "a", created: 3), job("expired", task: "a", created: 4, expiresAt: 10),
                job("parent", task: "p", created: 5, status: .waiting, dependencies: 1),
                job("dependency", task: "d", created: 6, origin: JobOrigin(.runBefore, parent: "parent")),
            ])
            _ = try await store.cancel(jobID: "cancelled", now: at(5), rules: FinalRules())
            for claimed in try await store.claim(queue: "Q", tasks: ["a", "b", "d"], hostID: "h", limit: 10, leaseDuration: 30, now: at(5)) {
                _ = try await store.finish(jobID: claimed.id, lease: claimed.lease, hostID: "h", outcome: .failed("broken"), now: at(6))
            }
            _ = try await store.expireOverdue(now: at(20), rules: FinalRules())
            #expect(try await store.job(id: "parent")?.status == .failed)

            // The task filter and the limit; the oldest first.
            let first = try await store.reviveDead(DeadJobFilter(task: "a", limit: 1), now: at(30))
            #expect(first.map(\.id) == ["a1"])
            let revived = try #require(try await store.job(id: "a1"))
            #expect(revived.status == .queued && revived.attempts == 0 && revived.finishedAt == nil && revived.error == "broken")
            // Failed and expired by default, not cancelled; a parent whose dependency failed stays dead.
            let rest = try await store.reviveDead(DeadJobFilter(), now: at(30))
            #expect(rest.map(\.id) == ["a2", "b1", "expired", "dependency"])
            #expect(try await store.job(id: "cancelled")?.status == .cancelled)
            #expect(try await store.job(id: "parent")?.status == .failed)
            #expect(try await store.reviveDead(DeadJobFilter(), now: at(31)).isEmpty)
            // A revived job runs again and a fresh claim takes it.
            let again = try await store.claim(queue: "Q", tasks: ["a"], hostID: "h", limit: 10, leaseDuration: 30, now: at(32))
            #expect(again.map(\.id) == ["a1", "a2", "expired"])
            #expect(again.allSatisfy { $0.attempts == 1 })

            #expect(try await store.discardDead(DeadJobFilter(statuses: [.cancelled])) == 1)
            #expect(try await store.job(id: "cancelled") == nil)
            #expect(try await store.discardDead(DeadJobFilter(finishedBefore: at(0))) == 0)
            #expect(try await store.discardDead(DeadJobFilter()) == 1)
            #expect(try await store.job(id: "parent") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases) func aConcurrencyCapHoldsClaimsBackUntilARunEnds(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.enqueue(
                (0..<5).map { job("c\($0)", task: "capped", created: Double($0)) } + (0..<3).map { job("f\($0)", task: "free", created: 10) })
            let limits = ["capped": TaskClaimLimit(concurrency: 2)]
            let first = try await store.claim(
                queue: "Q", tasks: ["capped", "free"], hostID: "h1", limit: 10, leaseDuration: 30, now: at(20), limits: limits)
            #expect(first.filter { $0.task == "capped" }.map(\.id) == ["c0", "c1"])
            #expect(first.count { $0.task == "free" } == 3)
            // Another host: the cap counts every host's runs.
            #expect(
                try await store.claim(queue: "Q", tasks: ["capped"], hostID: "h2", limit: 10, leaseDuration: 30, now: at(21), limits: limits).isEmpty)
            let running = try #require(first.first { $0.id == "c0" })
            _ = try await store.finish(jobID: running.id, lease: running.lease, hostID: "h1", outcome: .completed(.null), now: at(22))
            let next = try await store.claim(queue: "Q", tasks: ["capped"], hostID: "h2", limit: 10, leaseDuration: 30, now: at(23), limits: limits)
            #expect(next.map(\.id) == ["c2"])
        }
    }

    @Test(arguments: StoreKind.allCases) func managersClaimingTogetherNeverRunMoreThanTheCap(_ kind: StoreKind) async throws {
        try await kind.withStores(2) { stores in
            try await stores[0].enqueue((0..<40).map { job("c\($0)", task: "capped", created: Double($0)) })
            let limits = ["capped": TaskClaimLimit(concurrency: 3)]
            let claimed = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        try await stores[index % 2].claim(
                            queue: "Q", tasks: ["capped"], hostID: "h\(index)", limit: 5, leaseDuration: 30, now: at(50), limits: limits
                        ).count
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(claimed == 3)
            #expect(try await stores[1].counts(queue: "Q")[.running] == 3)
        }
    }

    @Test(arguments: StoreKind.allCases) func aRateLimitAllowsSoManyStartsPerWindow(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.enqueue((0..<10).map { job("r\($0)", task: "rated", created: Double($0)) })
            // Windows of 10 s counted from 1970: t0 (1,700,000,000) starts one.
            let limits = ["rated": TaskClaimLimit(rate: RateLimit(limit: 3, period: 10))]
            func claim(_ seconds: Double, _ count: Int) async throws -> [String] {
                try await store.claim(queue: "Q", tasks: ["rated"], hostID: "h", limit: count, leaseDuration: 30, now: at(seconds), limits: limits)
                    .map(\.id)
            }
            #expect(try await claim(0, 2) == ["r0", "r1"])
            #expect(try await claim(5, 5) == ["r2"])
            #expect(try await claim(9.9, 5).isEmpty)
            #expect(try await claim(10, 5) == ["r3", "r4", "r5"])
            #expect(try await claim(35, 1) == ["r6"])
        }
    }

    @Test(arguments: StoreKind.allCases) func progressIsKeptOnlyFromTheRunThatHoldsTheLease(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.enqueue([job("p")])
            let run = try #require(try await store.claim(queue: "Q", tasks: ["t"], hostID: "h", limit: 1, leaseDuration: 30, now: at(1)).first)
            #expect(try await store.setProgress(jobID: "p", lease: run.lease, hostID: "h", fraction: 0.4, message: "rows"))
            #expect(try await !store.setProgress(jobID: "p", lease: run.lease - 1, hostID: "h", fraction: 0.9, message: "stale"))
            #expect(try await !store.setProgress(jobID: "p", lease: run.lease, hostID: "other", fraction: 0.9, message: "other"))
            let seen = try #require(try await store.job(id: "p"))
            #expect(seen.progress == 0.4 && seen.progressMessage == "rows")
            // A new run starts without the last run's progress.
            _ = try await store.release(hostID: "h", jobs: nil)
            let again = try #require(try await store.claim(queue: "Q", tasks: ["t"], hostID: "h", limit: 1, leaseDuration: 30, now: at(2)).first)
            let rerun = try #require(try await store.job(id: again.id))
            #expect(rerun.progress == nil && rerun.progressMessage == nil)
        }
    }
}
