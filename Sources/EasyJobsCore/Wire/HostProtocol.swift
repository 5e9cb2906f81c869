#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a plugin offers, as a host reports it when it registers.
public struct PluginInfo: Codable, Sendable, Hashable {
    public var name: String
    public var version: String
    /// SHA-256 of the plugin file, hex: identifies the exact build that runs jobs.
    public var sha256: String
    public var abi: String
    public var tasks: [TaskSpec]

    public init(name: String, version: String, sha256: String, abi: String, tasks: [TaskSpec]) {
        self.name = name
        self.version = version
        self.sha256 = sha256
        self.abi = abi
        self.tasks = tasks
    }
}

/// The exact plugin build that ran a job.
public struct PluginRef: Codable, Sendable, Hashable {
    public var name: String
    public var version: String
    public var sha256: String

    public init(name: String, version: String, sha256: String) {
        self.name = name
        self.version = version
        self.sha256 = sha256
    }
}

extension PluginInfo {
    public var ref: PluginRef { PluginRef(name: name, version: version, sha256: sha256) }
}

/// A plugin file the host refused, with the reason.
public struct RefusedPlugin: Codable, Sendable, Hashable {
    public var file: String
    public var reason: String
    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
}

/// `POST /hosts/register`: a host joins its queues with its plugins.
public struct HostRegistration: Codable, Sendable {
    /// Stable across reconnects of one host process, so the manager recognises it.
    public var hostID: String
    public var name: String
    /// The first of ``queues``: where its tasks' schedules fire, and what a manager of an
    /// earlier version, which knows one queue per host, reads.
    public var queue: String
    /// Every queue the host serves, with its share of the host's claims. A registration without
    /// the field (an earlier host's) serves `queue` alone.
    public var queues: [QueueWeight]
    public var maxTasks: Int
    public var plugins: [PluginInfo]
    public var refused: [RefusedPlugin]

    public init(hostID: String, name: String, queue: String, maxTasks: Int, plugins: [PluginInfo], refused: [RefusedPlugin]) {
        self.init(hostID: hostID, name: name, queues: [QueueWeight(name: queue)], maxTasks: maxTasks, plugins: plugins, refused: refused)
    }

    /// `queues` must not be empty: its first is ``queue``.
    public init(hostID: String, name: String, queues: [QueueWeight], maxTasks: Int, plugins: [PluginInfo], refused: [RefusedPlugin]) {
        self.hostID = hostID
        self.name = name
        self.queue = queues.first?.name ?? ""
        self.queues = queues
        self.maxTasks = maxTasks
        self.plugins = plugins
        self.refused = refused
    }

    enum CodingKeys: String, CodingKey {
        case hostID = "host_id", name, queue, queues, maxTasks = "max_tasks", plugins, refused
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hostID = try c.decode(String.self, forKey: .hostID)
        name = try c.decode(String.self, forKey: .name)
        queue = try c.decode(String.self, forKey: .queue)
        queues = try c.decodeIfPresent([QueueWeight].self, forKey: .queues) ?? [QueueWeight(name: queue)]
        maxTasks = try c.decode(Int.self, forKey: .maxTasks)
        plugins = try c.decode([PluginInfo].self, forKey: .plugins)
        refused = try c.decode([RefusedPlugin].self, forKey: .refused)
    }
}

/// Answer of `POST /hosts/register`.
public struct HostRegistrationResponse: Codable, Sendable {
    /// How long a claim holds a job without a heartbeat, in seconds.
    public var leaseSeconds: Double
    /// How often the host should heartbeat, in seconds.
    public var heartbeatSeconds: Double
    /// The host's session token: every other host endpoint needs it in `X-EasyJobs-Session`,
    /// so one host cannot report, release or unregister another's jobs.
    public var session: String

    public init(leaseSeconds: Double, heartbeatSeconds: Double, session: String) {
        self.leaseSeconds = leaseSeconds
        self.heartbeatSeconds = heartbeatSeconds
        self.session = session
    }

    enum CodingKeys: String, CodingKey { case leaseSeconds = "lease_seconds", heartbeatSeconds = "heartbeat_seconds", session }
}

/// `POST /hosts/claim`: up to `max` jobs of the host's queue, waiting up to `wait` seconds for one.
public struct ClaimRequest: Codable, Sendable {
    public var hostID: String
    public var max: Int
    public var wait: Double

    public init(hostID: String, max: Int, wait: Double) {
        self.hostID = hostID
        self.max = max
        self.wait = wait
    }

    enum CodingKeys: String, CodingKey { case hostID = "host_id", max, wait }
}

/// A job under one lease: the fencing pair hosts present for a run.
public struct LeasedJob: Codable, Sendable, Hashable {
    public var jobID: String
    /// The lease number of the run (``Job/lease``).
    public var lease: Int

    public init(jobID: String, lease: Int) {
        self.jobID = jobID
        self.lease = lease
    }

    enum CodingKeys: String, CodingKey { case jobID = "job_id", lease }
}

/// A job handed to a host.
public struct ClaimedJob: Codable, Sendable, Hashable {
    public var jobID: String
    /// The job's queue; a manager of an earlier version leaves it out (its host serves one).
    public var queue: String?
    public var task: String
    public var args: [String: JSONValue]
    public var attempt: Int
    /// The run's lease number: the fencing token its reports, renewals and calls present.
    public var lease: Int
    public var leaseExpiresAt: Date
    /// Results of the job's `run_before` tasks, by task name.
    public var dependencies: [String: JSONValue]
    /// For subprocess tasks: the credential that lets the child report this job's result, and nothing else.
    public var token: String?

    public init(
        jobID: String, queue: String? = nil, task: String, args: [String: JSONValue], attempt: Int, lease: Int, leaseExpiresAt: Date,
        dependencies: [String: JSONValue] = [:], token: String? = nil
    ) {
        self.jobID = jobID
        self.queue = queue
        self.task = task
        self.args = args
        self.attempt = attempt
        self.lease = lease
        self.leaseExpiresAt = leaseExpiresAt
        self.dependencies = dependencies
        self.token = token
    }

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id", queue, task, args, attempt, lease, leaseExpiresAt = "lease_expires_at", dependencies, token
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        jobID = try c.decode(String.self, forKey: .jobID)
        queue = try c.decodeIfPresent(String.self, forKey: .queue)
        task = try c.decode(String.self, forKey: .task)
        args = try c.decode([String: JSONValue].self, forKey: .args)
        attempt = try c.decode(Int.self, forKey: .attempt)
        lease = try c.decode(Int.self, forKey: .lease)
        leaseExpiresAt = try c.decode(Date.self, forKey: .leaseExpiresAt)
        dependencies = try c.decodeIfPresent([String: JSONValue].self, forKey: .dependencies) ?? [:]
        token = try c.decodeIfPresent(String.self, forKey: .token)
    }
}

extension ClaimedJob {
    /// The run this claim started.
    public var leased: LeasedJob { LeasedJob(jobID: jobID, lease: lease) }
}

/// Answer of `POST /hosts/claim`.
public struct ClaimResponse: Codable, Sendable {
    public var jobs: [ClaimedJob]
    public init(jobs: [ClaimedJob]) { self.jobs = jobs }
}

/// How a run ended, as a host reports it.
public enum JobOutcome: Codable, Sendable, Hashable {
    case completed(JSONValue)
    case failed(String)
    /// Stopped on request; the message says how.
    case cancelled(String)

    enum CodingKeys: String, CodingKey { case status, result, error }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .status) {
        case "completed": self = .completed(try c.decodeIfPresent(JSONValue.self, forKey: .result) ?? .null)
        case "failed": self = .failed(try c.decode(String.self, forKey: .error))
        case "cancelled": self = .cancelled(try c.decodeIfPresent(String.self, forKey: .error) ?? "cancelled")
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .status, in: c, debugDescription: "status must be 'completed', 'failed' or 'cancelled', got '\(other)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .completed(let result):
            try c.encode("completed", forKey: .status)
            try c.encode(result, forKey: .result)
        case .failed(let error):
            try c.encode("failed", forKey: .status)
            try c.encode(error, forKey: .error)
        case .cancelled(let reason):
            try c.encode("cancelled", forKey: .status)
            try c.encode(reason, forKey: .error)
        }
    }
}

/// One finished run in a `POST /hosts/report`.
public struct JobReport: Codable, Sendable, Hashable {
    public var jobID: String
    /// The lease number of the run that ended: a report of an older run is refused.
    public var lease: Int
    public var outcome: JobOutcome
    /// The plugin build that ran it, when one did.
    public var plugin: PluginRef?

    public init(jobID: String, lease: Int, outcome: JobOutcome, plugin: PluginRef? = nil) {
        self.jobID = jobID
        self.lease = lease
        self.outcome = outcome
        self.plugin = plugin
    }

    enum CodingKeys: String, CodingKey { case jobID = "job_id", lease, outcome, plugin }
}

/// `POST /hosts/release`: jobs the host claimed but will not run (no plugin serves them any
/// more); they go back to the queue as if never claimed.
public struct ReleaseRequest: Codable, Sendable {
    public var hostID: String
    public var jobs: [LeasedJob]
    /// Every job the manager leases to the host instead: sent by a host that runs nothing (a
    /// recycling host, before it replaces itself), for jobs whose claim answer it never read.
    public var all: Bool

    public init(hostID: String, jobs: [LeasedJob], all: Bool = false) {
        self.hostID = hostID
        self.jobs = jobs
        self.all = all
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        hostID = try container.decode(String.self, forKey: .hostID)
        jobs = try container.decodeIfPresent([LeasedJob].self, forKey: .jobs) ?? []
        all = try container.decodeIfPresent(Bool.self, forKey: .all) ?? false
    }

    enum CodingKeys: String, CodingKey { case hostID = "host_id", jobs, all }
}

/// `POST /hosts/report`: results and failures, several at a time.
///
/// `claim` asks the manager to hand up to that many more jobs back in the answer, claimed as
/// `POST /hosts/claim` would claim them: a host gives the slots of the runs it reports to their
/// queues' next jobs (a chain's next step, most often) without a claim's round trip.
public struct ReportRequest: Codable, Sendable {
    public var hostID: String
    public var reports: [JobReport]
    /// Most jobs the answer may carry; 0 (the default, and what hosts before it send) claims none.
    public var claim: Int

    public init(hostID: String, reports: [JobReport], claim: Int = 0) {
        self.hostID = hostID
        self.reports = reports
        self.claim = claim
    }

    enum CodingKeys: String, CodingKey { case hostID = "host_id", reports, claim }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        hostID = try container.decode(String.self, forKey: .hostID)
        reports = try container.decode([JobReport].self, forKey: .reports)
        claim = try container.decodeIfPresent(Int.self, forKey: .claim) ?? 0
    }
}

/// Answer of `POST /hosts/report`: the reports the manager refused (the host lost those jobs'
/// leases), and the jobs it claimed for the host when the report asked for some.
public struct ReportResponse: Codable, Sendable {
    public var accepted: Int
    public var rejected: [String]
    /// Jobs now leased to the host, as a claim answer carries them: the host runs them.
    public var jobs: [ClaimedJob]

    public init(accepted: Int, rejected: [String], jobs: [ClaimedJob] = []) {
        self.accepted = accepted
        self.rejected = rejected
        self.jobs = jobs
    }

    enum CodingKeys: String, CodingKey { case accepted, rejected, jobs }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        accepted = try container.decode(Int.self, forKey: .accepted)
        rejected = try container.decode([String].self, forKey: .rejected)
        jobs = try container.decodeIfPresent([ClaimedJob].self, forKey: .jobs) ?? []
    }
}

/// `POST /hosts/heartbeat`: the host is alive and still runs these jobs.
public struct HeartbeatRequest: Codable, Sendable {
    public var hostID: String
    public var running: [LeasedJob]

    public init(hostID: String, running: [LeasedJob]) {
        self.hostID = hostID
        self.running = running
    }

    enum CodingKeys: String, CodingKey { case hostID = "host_id", running }
}

/// Answer of a heartbeat: the jobs whose leases were renewed and those the host no longer holds.
public struct HeartbeatResponse: Codable, Sendable {
    public var renewed: [LeasedJob]
    /// Runs whose lease the host no longer holds: it must stop them, their results are refused.
    public var lost: [LeasedJob]
    public init(renewed: [LeasedJob], lost: [LeasedJob]) {
        self.renewed = renewed
        self.lost = lost
    }
}

/// A host as the manager shows it (`GET /hosts`).
public struct HostView: Codable, Sendable {
    public var hostID: String
    public var name: String
    /// The first of ``queues``.
    public var queue: String
    /// Every queue the host serves, with its weight; absent from an earlier manager's view.
    public var queues: [QueueWeight]?
    public var maxTasks: Int
    public var plugins: [PluginInfo]
    public var refused: [RefusedPlugin]
    public var lastHeartbeat: Date
    public var online: Bool
    /// What the manager found wrong with this host's tasks in its queue (unknown names, cycles).
    public var problems: [String]
    /// Paused, by name or through its queue: it finishes what it runs and claims nothing new.
    public var paused: Bool

    public init(
        hostID: String, name: String, queue: String, queues: [QueueWeight]? = nil, maxTasks: Int, plugins: [PluginInfo],
        refused: [RefusedPlugin], lastHeartbeat: Date, online: Bool, problems: [String] = [], paused: Bool = false
    ) {
        self.hostID = hostID
        self.name = name
        self.queue = queue
        self.queues = queues
        self.maxTasks = maxTasks
        self.plugins = plugins
        self.refused = refused
        self.lastHeartbeat = lastHeartbeat
        self.online = online
        self.problems = problems
        self.paused = paused
    }

    enum CodingKeys: String, CodingKey {
        case hostID = "host_id", name, queue, queues, maxTasks = "max_tasks", plugins, refused
        case lastHeartbeat = "last_heartbeat", online, problems, paused
    }
}

extension HostView {
    /// ``queues``, or ``queue`` alone in the view of a manager that predates them.
    public var servedQueues: [QueueWeight] { queues ?? [QueueWeight(name: queue)] }
}

/// `POST /hosts/unregister`: the host is leaving after a graceful stop.
public struct UnregisterRequest: Codable, Sendable {
    public var hostID: String
    public init(hostID: String) { self.hostID = hostID }
    enum CodingKeys: String, CodingKey { case hostID = "host_id" }
}

/// Answer of `POST /hosts/unregister`: jobs that were still leased to the host and went back to the queue.
public struct UnregisterResponse: Codable, Sendable {
    public var released: [String]
    public init(released: [String]) { self.released = released }
}

/// `POST /hosts/call`: a running job calls a task of its queue and will await its result.
public struct CallRequest: Codable, Sendable {
    public var hostID: String
    /// The calling job, which the new job's origin points to.
    public var parentID: String
    /// The calling run's lease number: a run that lost its lease cannot create jobs.
    public var lease: Int
    public var task: String
    public var args: JSONValue
    /// How the new job is to run (checked by the manager as a client's enqueue options are).
    public var options: EnqueueOptions?
    /// The caller awaits the job (`context.call`, origin `call`), or only enqueues it
    /// (`context.enqueue`, origin `enqueued`). Absent means it awaits.
    public var waits: Bool?

    public init(
        hostID: String, parentID: String, lease: Int, task: String, args: JSONValue, options: EnqueueOptions? = nil, waits: Bool? = nil
    ) {
        self.hostID = hostID
        self.parentID = parentID
        self.lease = lease
        self.task = task
        self.args = args
        self.options = options
        self.waits = waits
    }

    enum CodingKeys: String, CodingKey { case hostID = "host_id", parentID = "parent_id", lease, task, args, options, waits }
}

/// `POST /hosts/progress`: how far a running job is (`context.progress`), as its host relays it.
public struct ProgressRequest: Codable, Sendable, Hashable {
    public var hostID: String
    public var jobID: String
    /// The run's lease number: a run that lost its lease reports no progress.
    public var lease: Int
    /// From 0 to 1.
    public var fraction: Double
    public var message: String?

    public init(hostID: String, jobID: String, lease: Int, fraction: Double, message: String?) {
        self.hostID = hostID
        self.jobID = jobID
        self.lease = lease
        self.fraction = fraction
        self.message = message
    }

    /// Longest message kept, in characters.
    public static let maxMessageLength = 1_000

    enum CodingKeys: String, CodingKey { case hostID = "host_id", jobID = "job_id", lease, fraction, message }

    /// `host_id` may be left out where the job token says whose run it is (``ChildProgress``).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hostID = try c.decodeIfPresent(String.self, forKey: .hostID) ?? ""
        jobID = try c.decode(String.self, forKey: .jobID)
        lease = try c.decode(Int.self, forKey: .lease)
        fraction = try c.decode(Double.self, forKey: .fraction)
        message = try c.decodeIfPresent(String.self, forKey: .message)
    }
}

extension ProgressRequest {
    /// Reads the body of a task's `progress` request (`{"fraction": 0…1, "message": …}`, the SDK's
    /// `context.progress`), clamping the fraction; `nil` when it is not one.
    public init?(taskRequest body: some DataProtocol, hostID: String, jobID: String, lease: Int) {
        let request = try? JSONValue.decode(body)
        let fraction: Double? =
            switch request?["fraction"] {
            case .double(let value)?: value
            case .int(let value)?: Double(value)
            default: nil
            }
        guard let request, let fraction, fraction.isFinite else { return nil }
        self.init(hostID: hostID, jobID: jobID, lease: lease, fraction: min(max(fraction, 0), 1), message: request["message"]?.stringValue)
    }

    /// What a task is told when its progress request is not one.
    public static let malformedTaskRequest = "a progress request needs {\"fraction\": 0…1, \"message\": …}"
}

/// `POST /job/progress`: a subprocess child's progress, with its job token (the host is the
/// one its job runs on; `host_id` is not read).
public typealias ChildProgress = ProgressRequest

/// `POST /hosts/await`: waits up to `wait` seconds for a job to finish, without consuming its result.
public struct AwaitRequest: Codable, Sendable {
    public var jobID: String
    public var wait: Double

    public init(jobID: String, wait: Double) {
        self.jobID = jobID
        self.wait = wait
    }

    enum CodingKeys: String, CodingKey { case jobID = "job_id", wait }
}

/// `POST /hosts/events`: a long poll for what the manager asks of the host: the running jobs to cancel.
public struct EventsRequest: Codable, Sendable {
    public var hostID: String
    /// Cancellations the host already acts on; the poll waits while nothing else is asked.
    public var seen: [String]
    public var wait: Double

    public init(hostID: String, seen: [String], wait: Double) {
        self.hostID = hostID
        self.seen = seen
        self.wait = wait
    }

    enum CodingKeys: String, CodingKey { case hostID = "host_id", seen, wait }
}

/// Answer of `POST /hosts/events`.
public struct EventsResponse: Codable, Sendable {
    /// Running jobs of this host to stop.
    public var cancel: [String]
    public init(cancel: [String]) { self.cancel = cancel }
}

/// One line a job wrote, kept as its log.
public struct JobLogLine: Codable, Sendable, Hashable {
    public enum Stream: String, Codable, Sendable { case stdout, stderr }
    public var stream: Stream
    public var line: String
    public var at: Date

    public init(stream: Stream, line: String, at: Date) {
        self.stream = stream
        self.line = line
        self.at = at
    }
}

/// `POST /hosts/logs`: lines of running jobs, several jobs at a time.
public struct LogsRequest: Codable, Sendable {
    public var hostID: String
    /// Job id → its new lines, in order.
    public var lines: [String: [JobLogLine]]

    public init(hostID: String, lines: [String: [JobLogLine]]) {
        self.hostID = hostID
        self.lines = lines
    }

    enum CodingKeys: String, CodingKey { case hostID = "host_id", lines }
}

/// `GET /job/view/log`: a job's log.
public struct JobLog: Codable, Sendable {
    public var requestID: String
    public var lines: [JobLogLine]

    public init(requestID: String, lines: [JobLogLine]) {
        self.requestID = requestID
        self.lines = lines
    }

    enum CodingKeys: String, CodingKey { case requestID = "request_id", lines }
}
