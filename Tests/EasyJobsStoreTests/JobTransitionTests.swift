import EasyJobsCore
import EasyJobsStore
import Foundation
import Testing

/// Retries while attempts are left, at once; creates nothing.
struct RetryingRules: JobRules {
    func retryDelay(for job: Job) -> TimeInterval? {
        job.maxAttempts.map { job.attempts < $0 } ?? true ? 0 : nil
    }
    func followUps(of job: Job) -> [NewJob] { [] }
}

/// Never retries; a completed `extract` is followed by a `transform`, a failed job by a `notify`.
struct PipelineRules: JobRules {
    func retryDelay(for job: Job) -> TimeInterval? { nil }
    func followUps(of job: Job) -> [NewJob] {
        switch (job.status, job.task) {
        case (.completed, "extract"):
            [NewJob(queue: job.queue, task: "transform", args: job.result?.objectValue ?? [:], origin: JobOrigin(.runAfter, parent: job.id))]
        case (.failed, let task) where task != "notify":
            [NewJob(queue: job.queue, task: "notify", args: ["job_id": .string(job.id)], origin: JobOrigin(.onFailure, parent: job.id))]
        default: []
        }
    }
}

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)
private func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

@Suite("Job transitions")
struct JobTransitionTests {
    /// Regression: a job that kills its host was re-claimed forever; lost leases never counted.
    @Test(arguments: StoreKind.allCases) func aJobWhoseHostKeepsDyingFailsForGoodAfterItsAttempts(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let claim = Claimer(store: store)
            let job = try await store.enqueue(NewJob(queue: "q", task: "crash", args: [:], createdAt: t0, maxAttempts: 2))
            #expect(try await claim.next("h1", now: 1).map(\.id) == [job.id])
            let first = try await store.requeueExpired(now: at(20), rules: RetryingRules())
            #expect(first.retried.map(\.id) == [job.id])
            #expect(first.retried.first?.lostLeases == 1)
            #expect(first.retried.first?.error == "its host stopped renewing the lease while running it (once)")

            #expect(try await claim.next("h2", now: 21).first?.attempts == 2)
            let second = try await store.requeueExpired(now: at(40), rules: RetryingRules())
            #expect(second.retried.isEmpty)
            let failed = try #require(second.finished.first)
            #expect(failed.id == job.id)
            #expect(failed.status == .failed)
            #expect(failed.error == "host died while running it (2 times)")
            #expect(failed.lostLeases == 2)
            #expect(try await claim.next("h3", now: 41).isEmpty)
            #expect(try await store.job(id: job.id)?.status == .failed)
        }
    }

    /// Regression: reports carried no attempt, so a stale run of a job the same host claimed
    /// again was recorded. Reports and renewals are fenced by the lease number.
    @Test(arguments: StoreKind.allCases) func aStaleRunsReportIsRefusedEvenFromTheSameHost(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let claim = Claimer(store: store)
            let job = try await store.enqueue(NewJob(queue: "q", task: "extract", args: [:], createdAt: t0, maxAttempts: 3))
            let stale = try #require(try await claim.next("h1", now: 1).first)
            _ = try await store.requeueExpired(now: at(20), rules: RetryingRules())
            let fresh = try #require(try await claim.next("h1", now: 21).first)
            #expect(fresh.lease == stale.lease + 1)

            let refused = try await store.finish(
                [JobReport(jobID: job.id, lease: stale.lease, outcome: .completed("stale"))], hostID: "h1", now: at(22), rules: FinalRules())
            #expect(refused.rejected == [job.id])
            #expect(refused.finished.isEmpty)
            #expect(try await store.renewLeases(hostID: "h1", jobs: [LeasedJob(jobID: job.id, lease: stale.lease)], until: at(100)).isEmpty)
            #expect(try await store.job(id: job.id)?.status == .running)

            let accepted = try await store.finish(
                [JobReport(jobID: job.id, lease: fresh.lease, outcome: .completed("fresh"))], hostID: "h1", now: at(23), rules: FinalRules())
            #expect(accepted.rejected.isEmpty)
            #expect(try await store.job(id: job.id)?.result == "fresh")
        }
    }

    /// Regression: successors, failure handlers and parent releases ran after the end was
    /// committed, so a crash between the two lost them. They now commit with the end.
    @Test(arguments: StoreKind.allCases) func anEndAndWhatItCausesCommitTogether(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let claim = Claimer(store: store)
            let extract = try await store.enqueue(NewJob(queue: "q", task: "extract", args: [:], createdAt: t0, maxAttempts: 1))
            let claimed = try #require(try await claim.next("h1", now: 1).first)
            let transitions = try await store.finish(
                [JobReport(jobID: extract.id, lease: claimed.lease, outcome: .completed(["rows": 3]))], hostID: "h1", now: at(2),
                rules: PipelineRules())
            let transform = try #require(transitions.created.first)
            #expect(transform.task == "transform" && transform.args == ["rows": 3] && transform.status == .queued)
            #expect(try await store.job(id: transform.id)?.origin == JobOrigin(.runAfter, parent: extract.id))

            // A failed run_before dependency fails its waiting parent, whose failure handler is created too.
            let parent = NewJob(queue: "q", task: "extract", args: [:], createdAt: at(3), status: .waiting, maxAttempts: 1, dependencies: 1)
            let dependency = NewJob(
                queue: "q", task: "transform", args: [:], createdAt: at(3), origin: JobOrigin(.runBefore, parent: parent.id), maxAttempts: 1)
            try await store.enqueue([parent, dependency])
            let running = try await claim.next("h1", now: 4)
            let transformRun = try #require(running.first { $0.id == dependency.id })
            let failure = try await store.finish(
                [JobReport(jobID: dependency.id, lease: transformRun.lease, outcome: .failed("boom"))], hostID: "h1", now: at(5),
                rules: PipelineRules())
            #expect(Set(failure.finished.map(\.id)) == [dependency.id, parent.id])
            #expect(try await store.job(id: parent.id)?.status == .failed)
            #expect(try await store.job(id: parent.id)?.error == "run_before task 'transform' (job \(dependency.id)) failed: boom")
            #expect(Set(failure.created.map(\.task)) == ["notify"])
            #expect(Set(failure.created.compactMap(\.origin.parentID)) == [dependency.id, parent.id])
        }
    }

    /// Ends are written a chunk of reports per statement (issue 14): a batch larger than a chunk,
    /// with a failure, a cancel, a stale lease, another host's job and a run reported twice among
    /// its completions, ends every run it holds once, in the order reported, each with its own
    /// result and successor, and refuses the rest by id.
    @Test(arguments: StoreKind.allCases) func aLargeReportBatchEndsEachRunItHoldsOnceInOrder(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let jobs = (0..<150).map { NewJob(queue: "q", task: "extract", args: ["n": .int($0)], createdAt: at(Double($0) / 1000), maxAttempts: 1) }
            try await store.enqueue(jobs)
            let elsewhere = try await store.enqueue(NewJob(queue: "q", task: "extract", args: [:], createdAt: at(1), maxAttempts: 1))
            let held = try await store.claim(queue: "q", tasks: ["extract"], hostID: "h1", limit: 150, leaseDuration: 10, now: at(2))
            #expect(held.map(\.id) == jobs.map(\.id))
            let other = try #require(
                try await store.claim(queue: "q", tasks: ["extract"], hostID: "h2", limit: 1, leaseDuration: 10, now: at(2)).first)
            #expect(other.id == elsewhere.id)

            var reports = held.enumerated().map { index, job in
                JobReport(
                    jobID: job.id, lease: job.lease,
                    outcome: index == 70 ? .failed("boom") : index == 100 ? .cancelled("stop") : .completed(["n": .int(index)]))
            }
            reports[30].lease += 1
            reports.insert(JobReport(jobID: held[5].id, lease: held[5].lease, outcome: .completed("again")), at: 6)
            reports.append(JobReport(jobID: other.id, lease: other.lease, outcome: .completed("not mine")))
            let transitions = try await store.finish(reports, hostID: "h1", now: at(3), rules: PipelineRules())

            #expect(transitions.rejected == [held[5].id, held[30].id, other.id])
            let ended = held.indices.filter { $0 != 30 }
            #expect(transitions.finished.map(\.id) == ended.map { held[$0].id })
            #expect(transitions.created.map(\.task) == ended.compactMap { $0 == 100 ? nil : $0 == 70 ? "notify" : "transform" })
            for index in ended {
                let job = try #require(try await store.job(id: held[index].id))
                switch index {
                case 70: #expect(job.status == .failed && job.error == "boom")
                case 100: #expect(job.status == .cancelled && job.error == "stop")
                default: #expect(job.status == .completed && job.result == ["n": .int(index)], "job \(index)")
                }
                #expect(job.finishedAt == at(3) && job.hostID == "h1")
            }
            #expect(try await store.job(id: held[30].id)?.status == .running)
            #expect(try await store.job(id: other.id)?.status == .running)
        }
    }

    /// A report that claims: the successor its end makes is claimed in the same transaction, by
    /// the reporting host, in the queue's order, within each part's limit and task set.
    @Test(arguments: StoreKind.allCases) func anEndAndTheClaimAfterItCommitTogether(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let claim = Claimer(store: store)
            let extract = try await store.enqueue(NewJob(queue: "q", task: "extract", args: [:], createdAt: t0, maxAttempts: 1))
            let claimed = try #require(try await claim.next("h1", now: 1).first)
            let report = JobReport(jobID: extract.id, lease: claimed.lease, outcome: .completed(["rows": 3]))
            let (transitions, taken) = try await store.finish(
                [report], hostID: "h1", now: at(2), rules: PipelineRules(),
                thenClaim: [QueueClaim(queue: "q", tasks: ["transform"], limit: 1), QueueClaim(queue: "other", tasks: ["transform"], limit: 1)],
                leaseDuration: 30)
            let transform = try #require(transitions.created.first)
            #expect(taken.count == 2 && taken[1].isEmpty)
            let run = try #require(taken[0].first)
            #expect(run.id == transform.id && run.attempts == 1 && run.lease == 1 && run.leaseExpiresAt == at(32))
            let stored = try #require(try await store.job(id: transform.id))
            #expect(stored.status == .running && stored.hostID == "h1" && stored.startedAt == at(2))
            #expect(ClaimedRun(stored) == run)
            // Nothing is left for another claim.
            #expect(try await claim.next("h2", now: 3).isEmpty)

            // Waiting jobs come first: the claim takes the queue's oldest, not the newest successor.
            let older = try await store.enqueue(NewJob(queue: "q", task: "transform", args: [:], createdAt: at(3)))
            let second = try await store.enqueue(NewJob(queue: "q", task: "extract", args: [:], createdAt: at(4), maxAttempts: 1))
            let secondRun = try #require(try await claim.next("h1", now: 5).first { $0.id == second.id })
            #expect(try await store.job(id: older.id)?.status == .running)  // the same claim took it too
            let next = try await store.enqueue(NewJob(queue: "q", task: "transform", args: [:], createdAt: at(6)))
            let (_, more) = try await store.finish(
                [JobReport(jobID: second.id, lease: secondRun.lease, outcome: .completed([:]))], hostID: "h1", now: at(7),
                rules: PipelineRules(), thenClaim: [QueueClaim(queue: "q", tasks: ["transform"], limit: 1)], leaseDuration: 30)
            #expect(more.map { $0.map(\.id) } == [[next.id]])

            // A refused report still claims: the claim is the host's, whatever its reports say.
            let (refused, alone) = try await store.finish(
                [JobReport(jobID: extract.id, lease: 9, outcome: .completed(nil))], hostID: "h1", now: at(8), rules: PipelineRules(),
                thenClaim: [QueueClaim(queue: "q", tasks: ["transform"], limit: 5)], leaseDuration: 30)
            #expect(refused.rejected == [extract.id])
            #expect(alone.first?.count == 1)  // the successor of `second`
        }
    }

    @Test(arguments: StoreKind.allCases) func aCompletedDependencyReleasesItsParentInTheSameTransaction(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let claim = Claimer(store: store)
            let parent = NewJob(queue: "q", task: "extract", args: [:], createdAt: t0, status: .waiting, dependencies: 1)
            let dependency = NewJob(queue: "q", task: "transform", args: [:], createdAt: t0, origin: JobOrigin(.runBefore, parent: parent.id))
            try await store.enqueue([parent, dependency])
            let run = try #require(try await claim.next("h1", now: 1).first)
            #expect(run.id == dependency.id)
            let transitions = try await store.finish(
                [JobReport(jobID: dependency.id, lease: run.lease, outcome: .completed(1))], hostID: "h1", now: at(2), rules: FinalRules())
            #expect(transitions.released.map(\.id) == [parent.id])
            #expect(try await store.job(id: parent.id)?.status == .queued)
        }
    }

    @Test(arguments: StoreKind.allCases) func aFailureWithTriesLeftIsQueuedAgainByFinish(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let claim = Claimer(store: store)
            let job = try await store.enqueue(NewJob(queue: "q", task: "extract", args: [:], createdAt: t0, maxAttempts: 2))
            let run = try #require(try await claim.next("h1", now: 1).first)
            let transitions = try await store.finish(
                [JobReport(jobID: job.id, lease: run.lease, outcome: .failed("flaky"))], hostID: "h1", now: at(2), rules: RetryingRules())
            #expect(transitions.retried.map(\.status) == [.queued])
            #expect(transitions.finished.isEmpty)
            let again = try #require(try await claim.next("h1", now: 3).first)
            #expect(again.attempts == 2)
            let last = try await store.finish(
                [JobReport(jobID: job.id, lease: again.lease, outcome: .failed("flaky"))], hostID: "h1", now: at(4), rules: RetryingRules())
            #expect(last.finished.map(\.status) == [.failed])
        }
    }

    /// A graceful host stop hands its jobs back without counting the try.
    @Test(arguments: StoreKind.allCases) func releasingRefundsTheTry(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let claim = Claimer(store: store)
            let job = try await store.enqueue(NewJob(queue: "q", task: "extract", args: [:], createdAt: t0, maxAttempts: 1))
            _ = try await claim.next("h1", now: 1)
            let released = try await store.release(hostID: "h1", jobs: nil)
            #expect(released.map(\.id) == [job.id])
            #expect(released.first?.attempts == 0)
            #expect(try await claim.next("h2", now: 2).first?.attempts == 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func cancellingAWaitingDependencyFailsItsParentInTheSameTransaction(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let parent = NewJob(queue: "q", task: "extract", args: [:], createdAt: t0, status: .waiting, dependencies: 1)
            let dependency = NewJob(queue: "q", task: "transform", args: [:], createdAt: t0, origin: JobOrigin(.runBefore, parent: parent.id))
            try await store.enqueue([parent, dependency])
            let (job, transitions) = try #require(try await store.cancel(jobID: dependency.id, now: at(1), rules: FinalRules()))
            #expect(job.status == .cancelled)
            #expect(Set(transitions.finished.map(\.id)) == [dependency.id, parent.id])
            #expect(try await store.job(id: parent.id)?.status == .failed)
        }
    }
}

/// Claims every task of the tests' queue "q" for a host, leased for 10 seconds.
private struct Claimer {
    let store: any JobStore

    func next(_ host: String, now: Double) async throws -> [ClaimedRun] {
        try await store.claim(
            queue: "q", tasks: ["extract", "transform", "notify", "crash"], hostID: host, limit: 10, leaseDuration: 10, now: at(now))
    }
}
