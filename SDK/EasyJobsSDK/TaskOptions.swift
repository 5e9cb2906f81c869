/// What happens when a run of a task fails.
public enum RetryPolicy: String, Sendable, Hashable {
    /// One more try (the default, as in EasyJobs).
    case retryOnce = "retry_once"
    /// No second try.
    case never
    /// Try again, with backoff, until it succeeds.
    case retryAlways = "retry_always"
}

/// A task's options: how it fits into pipelines and how it runs.
///
/// ```swift
/// TaskOptions(runAfter: ["transform"], schedule: "* * * * *", defaultArgs: ["url": "http://stats"])
/// ```
public struct TaskOptions: Sendable, Hashable {
    /// Tasks that run, in parallel, before this one starts; it starts when all have succeeded.
    public var runBefore: [String]
    /// Tasks enqueued with this task's result as their keyword arguments when it succeeds.
    public var runAfter: [String]
    /// A task enqueued with the failure once this task has failed for good.
    public var onFailure: String?
    public var retryPolicy: RetryPolicy
    /// Run each job of this task in a child process.
    public var subprocess: Bool
    /// A cron expression; the manager fires the task with `defaultArgs`.
    public var schedule: String?
    public var defaultArgs: [String: JSONValue]?
    /// Seconds a run may take.
    public var timeout: Double?
    /// Runs allowed in all, refining the retry policy (`retry_always` has no limit without it).
    public var maxAttempts: Int?
    /// Seconds before the first retry (default 1); each later one waits twice as long, with jitter.
    public var backoff: Double?
    /// For subprocess tasks: address space the child may use, in MiB.
    public var memoryLimitMB: Int?
    /// For subprocess tasks: CPU time the child may use, in seconds.
    public var cpuLimitSeconds: Int?
    /// For scheduled tasks: what to do about fires missed while no manager ran: "once" (default), "all" or "skip".
    public var catchUp: String?
    /// For scheduled tasks: the time zone of the cron fields, such as "Europe/Paris" (default UTC).
    public var timeZone: String?
    /// Most jobs of this task running at once in its queue, across every host: the manager holds
    /// claims back at the cap (a connection pool's size, an API's concurrent-call limit).
    public var concurrency: Int?
    /// Most jobs of this task started per `period` seconds in its queue, across every host
    /// (fixed windows): `(limit: 100, period: 60)` for an API allowing 100 calls a minute.
    public var rateLimit: (limit: Int, period: Double)? {
        get { rateLimitValues.map { (limit: $0.limit, period: $0.period) } }
        set { rateLimitValues = newValue.map { RateLimitValues(limit: $0.limit, period: $0.period) } }
    }
    private var rateLimitValues: RateLimitValues?

    private struct RateLimitValues: Sendable, Hashable {
        var limit: Int
        var period: Double
    }

    public init(
        runBefore: [String] = [], runAfter: [String] = [], onFailure: String? = nil,
        retryPolicy: RetryPolicy = .retryOnce, subprocess: Bool = false, schedule: String? = nil,
        defaultArgs: [String: JSONValue]? = nil, timeout: Double? = nil, maxAttempts: Int? = nil, backoff: Double? = nil,
        memoryLimitMB: Int? = nil, cpuLimitSeconds: Int? = nil, catchUp: String? = nil, timeZone: String? = nil,
        concurrency: Int? = nil, rateLimit: (limit: Int, period: Double)? = nil
    ) {
        self.concurrency = concurrency
        self.rateLimitValues = rateLimit.map { RateLimitValues(limit: $0.limit, period: $0.period) }
        self.runBefore = runBefore
        self.runAfter = runAfter
        self.onFailure = onFailure
        self.retryPolicy = retryPolicy
        self.subprocess = subprocess
        self.schedule = schedule
        self.defaultArgs = defaultArgs
        self.timeout = timeout
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.memoryLimitMB = memoryLimitMB
        self.cpuLimitSeconds = cpuLimitSeconds
        self.catchUp = catchUp
        self.timeZone = timeZone
    }

    var json: JSONValue {
        var object: [String: JSONValue] = [
            "run_before": .array(runBefore.map(JSONValue.string)),
            "run_after": .array(runAfter.map(JSONValue.string)),
            "retry_policy": .string(retryPolicy.rawValue),
            "subprocess": .bool(subprocess),
        ]
        if let onFailure { object["on_failure"] = .string(onFailure) }
        if let schedule { object["schedule"] = .string(schedule) }
        if let defaultArgs { object["default_args"] = .object(defaultArgs) }
        if let timeout { object["timeout"] = .double(timeout) }
        if let maxAttempts { object["max_attempts"] = .int(maxAttempts) }
        if let backoff { object["backoff"] = .double(backoff) }
        if let memoryLimitMB { object["memory_limit_mb"] = .int(memoryLimitMB) }
        if let cpuLimitSeconds { object["cpu_limit_s"] = .int(cpuLimitSeconds) }
        if let catchUp { object["catch_up"] = .string(catchUp) }
        if let timeZone { object["time_zone"] = .string(timeZone) }
        if let concurrency { object["concurrency"] = .int(concurrency) }
        if let rateLimitValues { object["rate_limit"] = ["limit": .int(rateLimitValues.limit), "period": .double(rateLimitValues.period)] }
        return .object(object)
    }
}
