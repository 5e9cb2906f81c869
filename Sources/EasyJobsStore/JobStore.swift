import EasyJobsCore
import Foundation

/// Where jobs, results and registrations live. The manager owns one.
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
    /// Stores queued jobs, all in one transaction: concurrent enqueues share a commit.
    func enqueue(_ jobs: [NewJob]) async throws

    /// Job counts by status, of one queue or of all.
    func counts(queue: String?) async throws -> [JobStatus: Int]

    /// Jobs finished since `since`, by queue and status (the dashboard's per-minute rates).
    func finishedCounts(since: Date) async throws -> [String: [JobStatus: Int]]

    /// Deletes a finished job and its log; false when there is no finished job with that id.
    func discard(jobID: String) async throws -> Bool

    /// Atomically moves up to `limit` queued jobs of `queue` whose task is in `tasks` and whose
    /// `runAt` has come to running, oldest first, leased to `hostID` until `now + leaseDuration`.
    /// Each claim counts an attempt and takes a new lease number (``Job/lease``), the fencing
    /// token every later report, renewal and call of that run must present.
    func claim(queue: String, tasks: Set<String>, hostID: String, limit: Int, leaseDuration: TimeInterval, now: Date) async throws -> [Job]

    /// Records how runs ended, in one transaction, each only if `hostID` still holds the job
    /// under the report's lease number; a report of a run that lost its lease changes nothing
    /// and is listed in ``JobTransitions/rejected``.
    ///
    /// A failure with a try left (per `rules`) queues the job again. Everything an end causes is
    /// applied in the same transaction: successors and failure handlers from `rules`, a
    /// `run_before` parent released or failed. A crash never commits an end without them.
    func finish(_ reports: [JobReport], hostID: String, now: Date, rules: any JobRules) async throws -> JobTransitions

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

    /// Appends lines to jobs' logs, keeping at most `maxLinesPerJob` of each job; the first line
    /// past the cap is replaced by one marker line, later ones are dropped.
    func appendLogs(_ lines: [String: [JobLogLine]], maxLinesPerJob: Int) async throws

    /// A job's log, oldest line first, at most `limit` lines from the end.
    func logs(jobID: String, limit: Int) async throws -> [JobLogLine]

    /// The results of the completed `run_before` jobs of each of `jobIDs`: job id → task → result.
    func dependencyResults(of jobIDs: [String]) async throws -> [String: [String: JSONValue]]

    /// Extends the leases `hostID` holds on `jobs` (each under its lease number); returns those renewed.
    func renewLeases(hostID: String, jobs: [LeasedJob], until: Date) async throws -> [LeasedJob]

    /// Ends the leases that ran out before `now`: each such run counts as a lost lease ("its host
    /// died holding it"), and the job is queued again if `rules` grant another try, or ends
    /// failed; a job whose cancellation was asked for ends cancelled. Consequences of the ends
    /// are applied in the same transaction.
    func requeueExpired(now: Date, rules: any JobRules) async throws -> JobTransitions

    func job(id: String) async throws -> Job?

    /// Marks a finished job's result as pulled and returns the job, with `first` true for the
    /// one pull that consumed it (of any number racing); `nil` if there is no such job. A job
    /// that is not finished is returned unchanged.
    func pull(id: String, now: Date) async throws -> (job: Job, first: Bool)?

    /// Jobs matching the filter, newest first.
    func jobs(_ filter: JobFilter) async throws -> [Job]

    // MARK: Schedules, locks, pauses

    /// Adds a schedule, or updates its definition (expression, zone, policy, arguments) and keeps its state.
    func syncSchedule(_ schedule: ScheduleRecord) async throws

    func schedules() async throws -> [ScheduleRecord]

    /// Forgets a schedule (its task no longer has one); false when there was none.
    func deleteSchedule(queue: String, task: String) async throws -> Bool

    /// Records that the schedule fired for `time` and stores `jobs`, in one transaction, only
    /// if its last fire time is still `previous`: of several managers, exactly one fires each
    /// time. Returns false when another got there first. `jobs` may be empty (skipped fires).
    func fire(queue: String, task: String, at time: Date, previous: Date?, jobs: [NewJob]) async throws -> Bool

    /// Returns false when there is no such schedule.
    func setSchedulePaused(queue: String, task: String, paused: Bool) async throws -> Bool

    /// Takes or renews the lock `name` for `owner` until `until`; true when `owner` holds it.
    func acquireLock(name: String, owner: String, until: Date, now: Date) async throws -> Bool

    /// Pauses or resumes a host (by name) or a queue; `kind` is `host` or `queue`.
    func setPaused(kind: String, name: String, paused: Bool) async throws

    /// Everything paused: kind → names.
    func paused() async throws -> [String: Set<String>]

    /// Saves what a host offers and when it was last seen.
    func saveHost(_ host: HostRecord) async throws

    /// Updates a host's last-seen time; returns false when the host is unknown.
    func touchHost(id: String, at: Date) async throws -> Bool

    func hosts() async throws -> [HostRecord]
}

extension JobStore {
    /// Stores one queued job.
    @discardableResult
    public func enqueue(_ job: NewJob) async throws -> Job {
        try await enqueue([job])
        return job.job
    }

    /// Records how one run ended; `nil` when the host no longer holds the job under `lease`.
    public func finish(
        jobID: String, lease: Int, hostID: String, outcome: JobOutcome, now: Date, rules: any JobRules = FinalRules()
    ) async throws -> Job? {
        let transitions = try await finish([JobReport(jobID: jobID, lease: lease, outcome: outcome)], hostID: hostID, now: now, rules: rules)
        return (transitions.finished + transitions.retried).first { $0.id == jobID }
    }
}

/// A job about to be stored.
public struct NewJob: Sendable {
    public var id: String
    public var queue: String
    public var task: String
    public var args: [String: JSONValue]
    public var createdAt: Date
    /// `.queued`, or `.waiting` for a job with `run_before` dependencies (also `.failed` for a job
    /// that is born failed, such as a `run_after` whose input does not fit).
    public var status: JobStatus
    public var origin: JobOrigin
    public var maxAttempts: Int?
    /// How many `run_before` jobs it waits for.
    public var dependencies: Int
    /// Set when `status` is `.failed`.
    public var error: String?
    /// For a job a schedule fires: the time it fires for.
    public var scheduledFor: Date?

    public init(
        id: String = Job.newID(), queue: String, task: String, args: [String: JSONValue], createdAt: Date = .now,
        status: JobStatus = .queued, origin: JobOrigin = .api, maxAttempts: Int? = 2, dependencies: Int = 0, error: String? = nil,
        scheduledFor: Date? = nil
    ) {
        self.id = id
        self.queue = queue
        self.task = task
        self.args = args
        self.createdAt = createdAt
        self.status = status
        self.origin = origin
        self.maxAttempts = maxAttempts
        self.dependencies = dependencies
        self.error = error
        self.scheduledFor = scheduledFor
    }

    /// The job as stored.
    public var job: Job {
        Job(
            id: id, queue: queue, task: task, args: args, status: status, error: error, createdAt: createdAt,
            finishedAt: status == .failed ? createdAt : nil, origin: origin, maxAttempts: maxAttempts, dependencies: dependencies,
            scheduledFor: scheduledFor)
    }
}

/// Which jobs a listing returns.
public struct JobFilter: Sendable {
    public var queue: String?
    public var task: String?
    public var statuses: Set<JobStatus>?
    /// Leave out jobs whose result was pulled.
    public var excludePulled: Bool
    public var limit: Int
    /// Jobs to skip, for paging.
    public var offset: Int
    /// Only jobs created at or after this time.
    public var since: Date?

    public init(
        queue: String? = nil, task: String? = nil, statuses: Set<JobStatus>? = nil, excludePulled: Bool = true, limit: Int = 100,
        offset: Int = 0, since: Date? = nil
    ) {
        self.queue = queue
        self.task = task
        self.statuses = statuses
        self.excludePulled = excludePulled
        self.limit = limit
        self.offset = offset
        self.since = since
    }
}

/// A host as stored: its registration and when it was last seen.
public struct HostRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    public var queue: String
    public var maxTasks: Int
    public var plugins: [PluginInfo]
    public var refused: [RefusedPlugin]
    public var registeredAt: Date
    public var lastSeen: Date
    /// SHA-256 (hex) of the session token issued at its last registration: host endpoints
    /// accept only that token for this host.
    public var sessionHash: String?

    public init(
        id: String, name: String, queue: String, maxTasks: Int, plugins: [PluginInfo], refused: [RefusedPlugin], registeredAt: Date, lastSeen: Date,
        sessionHash: String? = nil
    ) {
        self.sessionHash = sessionHash
        self.id = id
        self.name = name
        self.queue = queue
        self.maxTasks = maxTasks
        self.plugins = plugins
        self.refused = refused
        self.registeredAt = registeredAt
        self.lastSeen = lastSeen
    }
}
