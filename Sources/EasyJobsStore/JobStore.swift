import EasyJobsCore
import Foundation

/// Where jobs and their results live: the lifecycle of a job from enqueue to its end. The
/// manager owns one; the other roles a manager needs are separate protocols (``JobLogStore``,
/// ``ScheduleStore``, ``LockStore``, ``PauseStore``, ``HostStore``, ``JobRetention``), gathered
/// in ``ManagerStore``.
///
/// Every method is one atomic step: an implementation commits before it returns, so an
/// acknowledged enqueue or report survives a crash of the manager. `claim` must be safe
/// with several managers sharing one store (PostgreSQL): two claims never get one job.
///
/// ```swift
/// let store = try SQLiteJobStore(path: ".easyjobs/easyjobs.sqlite")
/// let job = try await store.enqueue(NewJob(queue: "ETL", task: "extract", args: ["url": "http://stats"]))
/// let claimed = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 5, leaseDuration: 30, now: .now)
/// ```
public protocol JobStore: Sendable {
    /// Stores new jobs, all in one transaction: concurrent enqueues share a commit.
    ///
    /// A job with ``NewJob/uniqueness`` is stored only if no job matches it; when one does, it
    /// is not stored, nor are the jobs planned with it (those whose origin leads to it, as its
    /// `run_before` dependencies), and the answer maps its id to the job that matched. The check
    /// and the insert are atomic, also between managers sharing a store.
    @discardableResult
    func enqueue(_ jobs: [NewJob]) async throws -> [String: Job]

    /// Job counts by status, of one queue or of all, of the given statuses or (nil) of every one.
    ///
    /// Counting only unfinished statuses costs as many jobs as are in them, not the whole
    /// history the store keeps: what a gauge scraped every few seconds should read.
    func counts(queue: String?, statuses: Set<JobStatus>?) async throws -> [JobStatus: Int]

    /// Jobs finished since `since`, by queue and status (the dashboard's per-minute rates).
    func finishedCounts(since: Date) async throws -> [String: [JobStatus: Int]]

    /// Deletes a finished job and its log; false when there is no finished job with that id.
    func discard(jobID: String) async throws -> Bool

    /// Atomically moves up to `limit` queued jobs of `queue` whose task is in `tasks`, whose
    /// `runAt` has come and whose deadline has not passed to running, highest priority first and
    /// oldest first within a priority, leased to `hostID` until `now + leaseDuration`.
    /// Each claim counts an attempt and takes a new lease number (``Job/lease``), the fencing
    /// token every later report, renewal and call of that run must present.
    ///
    /// A task in `limits` gets no more than its limit allows, counted over every host: running
    /// jobs of the task in the queue under its concurrency cap, starts in the current window
    /// under its rate limit. The count and the claim are atomic (between managers too).
    func claim(
        queue: String, tasks: Set<String>, hostID: String, limit: Int, leaseDuration: TimeInterval, now: Date, limits: [String: TaskClaimLimit]
    ) async throws -> [ClaimedRun]

    /// Records how runs ended, in one transaction, each only if `hostID` still holds the job
    /// under the report's lease number; a report of a run that lost its lease changes nothing
    /// and is listed in ``JobTransitions/rejected``.
    ///
    /// A failure with a try left (per `rules`) queues the job again. Everything an end causes is
    /// applied in the same transaction: successors and failure handlers from `rules`, a
    /// `run_before` parent released or failed. A crash never commits an end without them.
    func finish(_ reports: [JobReport], hostID: String, now: Date, rules: any JobRules) async throws -> JobTransitions

    /// ``finish(_:hostID:now:rules:)``, then the `claims` for `hostID` (each as
    /// ``claim(queue:tasks:hostID:limit:leaseDuration:now:limits:)``), in one transaction where
    /// the store can: a successor the ends made is then claimed by the reporting host before
    /// any other claim can see it, with one commit for both. Returns each claim's jobs, in the
    /// order of `claims`.
    func finish(
        _ reports: [JobReport], hostID: String, now: Date, rules: any JobRules, thenClaim claims: [QueueClaim], leaseDuration: TimeInterval
    ) async throws -> (transitions: JobTransitions, claimed: [[ClaimedRun]])

    /// Puts running jobs of `hostID` back in the queue as if they had not been claimed (the try
    /// is refunded): all of them when `jobs` is nil (a host that left gracefully), or those
    /// leases (claimed but never started). Returns the jobs requeued.
    func release(hostID: String, jobs: [LeasedJob]?) async throws -> [Job]

    /// Queues waiting jobs whose `run_before` jobs have all completed: the one given, or every
    /// such job when `jobID` is `nil` (a sweep that repairs anything a crash interrupted).
    func releaseReady(jobID: String?) async throws -> [Job]

    /// The jobs whose origin points at `parentID`, oldest first.
    func children(of parentID: String) async throws -> [Job]

    /// Cancels a job: one that waits or is queued ends `cancelled` at once (with what that
    /// causes, in the same transaction); for a running one the cancellation is recorded for its
    /// host to act on. Returns the job after; `nil` if unknown.
    func cancel(jobID: String, now: Date, rules: any JobRules) async throws -> (job: Job, transitions: JobTransitions)?

    /// Running jobs of `hostID` whose cancellation was asked for.
    func cancelRequested(hostID: String) async throws -> [String]

    /// The results of the completed `run_before` jobs of each of `jobIDs`: job id → task → result.
    func dependencyResults(of jobIDs: [String]) async throws -> [String: [String: JSONValue]]

    /// Extends the leases `hostID` holds on `jobs` (each under its lease number); returns those renewed.
    func renewLeases(hostID: String, jobs: [LeasedJob], until: Date) async throws -> [LeasedJob]

    /// Ends the leases that ran out before `now`: each such run counts as a lost lease ("its host
    /// died holding it"), and the job is queued again if `rules` grant another try, or ends
    /// failed; a job whose cancellation was asked for ends cancelled. Consequences of the ends
    /// are applied in the same transaction.
    func requeueExpired(now: Date, rules: any JobRules) async throws -> JobTransitions

    /// Queues `scheduled` jobs of `queue` whose `run_at` has come (all queues when `nil`), in enqueue
    /// order; a claim does it for its queue first. Returns how many.
    @discardableResult
    func promoteScheduled(queue: String?, now: Date) async throws -> Int

    /// Ends `expired` every job that has not started (waiting, scheduled, queued) and whose
    /// deadline has passed, with what that causes in the same transaction (a waiting
    /// `run_before` parent fails). An expired job gets no `run_after` or `on_failure` jobs.
    func expireOverdue(now: Date, rules: any JobRules) async throws -> JobTransitions

    /// Records how far a running job got, only while `hostID` holds it under `lease`; false when
    /// it does not (the run lost its lease or ended).
    func setProgress(jobID: String, lease: Int, hostID: String, fraction: Double, message: String?) async throws -> Bool

    func job(id: String) async throws -> Job?

    /// Marks a finished job's result as pulled and returns the job, with `first` true for the
    /// one pull that consumed it (of any number racing); `nil` if there is no such job. A job
    /// that is not finished is returned unchanged.
    func pull(id: String, now: Date) async throws -> (job: Job, first: Bool)?

    /// Jobs matching the filter, newest first.
    func jobs(_ filter: JobFilter) async throws -> [Job]
}

/// How many jobs of one task may be claimed: from its `concurrency` and `rate_limit` options.
public struct TaskClaimLimit: Sendable, Hashable {
    public var concurrency: Int?
    public var rate: RateLimit?

    public init(concurrency: Int? = nil, rate: RateLimit? = nil) {
        self.concurrency = concurrency
        self.rate = rate
    }

    /// The limits of a task's options; `nil` when it has none.
    public init?(_ options: TaskOptions) {
        guard options.concurrency != nil || options.rateLimit != nil else { return nil }
        self.init(concurrency: options.concurrency, rate: options.rateLimit)
    }

    /// The number of the rate window `now` falls in.
    public func window(at now: Date) -> Int64? {
        rate.map { Int64((now.timeIntervalSince1970 / $0.period).rounded(.down)) }
    }

    /// How many more may be claimed, given `running` jobs and `started` starts in this window.
    public func allowance(running: Int, started: Int) -> Int {
        var allowed = Int.max
        if let concurrency { allowed = min(allowed, concurrency - running) }
        if let rate { allowed = min(allowed, rate.limit - started) }
        return max(allowed, 0)
    }
}

/// One queue's part of a claim: up to `limit` jobs of `tasks`, under the tasks' `limits`.
public struct QueueClaim: Sendable {
    public var queue: String
    public var tasks: Set<String>
    public var limit: Int
    public var limits: [String: TaskClaimLimit]

    public init(queue: String, tasks: Set<String>, limit: Int, limits: [String: TaskClaimLimit] = [:]) {
        self.queue = queue
        self.tasks = tasks
        self.limit = limit
        self.limits = limits
    }
}

extension JobStore {
    /// The end and the claims one after the other, for a store that has no way to do both at once.
    public func finish(
        _ reports: [JobReport], hostID: String, now: Date, rules: any JobRules, thenClaim claims: [QueueClaim], leaseDuration: TimeInterval
    ) async throws -> (transitions: JobTransitions, claimed: [[ClaimedRun]]) {
        let transitions = try await finish(reports, hostID: hostID, now: now, rules: rules)
        var claimed: [[ClaimedRun]] = []
        for part in claims {
            claimed.append(
                try await claim(
                    queue: part.queue, tasks: part.tasks, hostID: hostID, limit: part.limit, leaseDuration: leaseDuration, now: now,
                    limits: part.limits))
        }
        return (transitions, claimed)
    }

    /// A claim without task limits.
    public func claim(
        queue: String, tasks: Set<String>, hostID: String, limit: Int, leaseDuration: TimeInterval, now: Date
    ) async throws -> [ClaimedRun] {
        try await claim(queue: queue, tasks: tasks, hostID: hostID, limit: limit, leaseDuration: leaseDuration, now: now, limits: [:])
    }

    /// Stores one queued job.
    @discardableResult
    public func enqueue(_ job: NewJob) async throws -> Job {
        try await enqueue([job])[job.id] ?? job.job
    }

    /// Records how one run ended; `nil` when the host no longer holds the job under `lease`.
    public func finish(
        jobID: String, lease: Int, hostID: String, outcome: JobOutcome, now: Date, rules: any JobRules = FinalRules()
    ) async throws -> Job? {
        let transitions = try await finish([JobReport(jobID: jobID, lease: lease, outcome: outcome)], hostID: hostID, now: now, rules: rules)
        return (transitions.finished + transitions.retried).first { $0.id == jobID }
    }

    /// Job counts by every status, of one queue or of all.
    public func counts(queue: String?) async throws -> [JobStatus: Int] {
        try await counts(queue: queue, statuses: nil)
    }
}
