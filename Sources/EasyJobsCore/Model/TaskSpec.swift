#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// The type of a task parameter, as declared by the plugin.
public enum ParameterType: String, Codable, Sendable, CaseIterable {
    case string, int, double, bool, object, array, any

    /// Whether `value` is acceptable; an `int` is accepted where a `double` is expected.
    public func accepts(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case (.any, _): true
        case (.string, .string), (.int, .int), (.double, .double), (.double, .int), (.bool, .bool),
            (.object, .object), (.array, .array):
            true
        default: false
        }
    }
}

/// One keyword argument of a task.
public struct TaskParameter: Codable, Sendable, Hashable {
    public var name: String
    public var type: ParameterType
    public var required: Bool
    /// Used when an optional argument is missing.
    public var `default`: JSONValue?
    /// The smallest and largest number accepted, for a parameter that ends up in a C type
    /// (`int8` is -128…127): an argument outside is refused at enqueue, not truncated in the call.
    public var minimum: Double?
    public var maximum: Double?
    /// The C type a foreign-function plugin declared (`int8`, `double`, `const char*`…), shown in signatures.
    public var cType: String?

    public init(
        name: String, type: ParameterType, required: Bool = true, default: JSONValue? = nil, minimum: Double? = nil, maximum: Double? = nil,
        cType: String? = nil
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.default = `default`
        self.minimum = minimum
        self.maximum = maximum
        self.cType = cType
    }

    enum CodingKeys: String, CodingKey {
        case name, type, required, `default`, minimum, maximum, cType = "c_type"
    }

    /// Why `value` (of the right type) is out of this parameter's range, if it is.
    public func rangeProblem(_ value: JSONValue) -> String? {
        let number: Double
        switch value {
        case .int(let int): number = Double(int)
        case .double(let double): number = double
        default: return nil
        }
        if let minimum, number < minimum || (number.isNaN) {
            return "argument '\(name)' must be at least \(Self.format(minimum))\(cType.map { " (\($0))" } ?? ""), got \(value.jsonString)"
        }
        if let maximum, number > maximum {
            return "argument '\(name)' must be at most \(Self.format(maximum))\(cType.map { " (\($0))" } ?? ""), got \(value.jsonString)"
        }
        return nil
    }

    private static func format(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e18 ? String(Int64(number)) : String(number)
    }
}

/// What happens when a run of a task fails.
public enum RetryPolicy: String, Codable, Sendable, CaseIterable {
    /// One more try (the default, as in EasyJobs).
    case retryOnce = "retry_once"
    case never
    case retryAlways = "retry_always"
}

/// What a schedule does about the fires it missed while no manager ran.
public enum CatchUpPolicy: String, Codable, Sendable, CaseIterable {
    /// Fire once for the whole missed period (the default).
    case once
    /// Fire for every missed time.
    case all
    /// Fire none of them; carry on from the next time.
    case skip
}

/// A task's options, as the plugin declares them. The descriptor carries all of them; the
/// manager and host give them their behaviour.
public struct TaskOptions: Codable, Sendable, Hashable {
    public var runBefore: [String]
    public var runAfter: [String]
    public var onFailure: String?
    public var retryPolicy: RetryPolicy
    public var subprocess: Bool
    public var schedule: String?
    public var defaultArgs: [String: JSONValue]?
    /// Seconds a run may take.
    public var timeout: Double?
    /// Refines the retry policy: runs allowed in all (`retry_always` has no limit without it).
    public var maxAttempts: Int?
    /// Seconds before the first retry; each later one waits twice as long, with jitter, capped.
    public var backoff: Double?
    /// Address space a subprocess run may use, in MiB.
    public var memoryLimit: Int?
    /// CPU time a subprocess run may use, in seconds.
    public var cpuLimit: Int?
    /// What a schedule does about fires missed while no manager ran: `once` (default), `all`, `skip`.
    public var catchUp: CatchUpPolicy?
    /// The time zone the schedule's fields are read in (default UTC).
    public var timeZone: String?
    /// Most jobs of the task running at once in its queue, across every host (the manager holds
    /// claims back at the cap).
    public var concurrency: Int?
    /// Most jobs of the task started per period in its queue, across every host.
    public var rateLimit: RateLimit?

    public init(
        runBefore: [String] = [], runAfter: [String] = [], onFailure: String? = nil,
        retryPolicy: RetryPolicy = .retryOnce, subprocess: Bool = false, schedule: String? = nil,
        defaultArgs: [String: JSONValue]? = nil, timeout: Double? = nil, maxAttempts: Int? = nil, backoff: Double? = nil,
        memoryLimit: Int? = nil, cpuLimit: Int? = nil, catchUp: CatchUpPolicy? = nil, timeZone: String? = nil,
        concurrency: Int? = nil, rateLimit: RateLimit? = nil
    ) {
        self.concurrency = concurrency
        self.rateLimit = rateLimit
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
        self.memoryLimit = memoryLimit
        self.cpuLimit = cpuLimit
        self.catchUp = catchUp
        self.timeZone = timeZone
    }

    enum CodingKeys: String, CodingKey {
        case runBefore = "run_before", runAfter = "run_after", onFailure = "on_failure"
        case retryPolicy = "retry_policy", subprocess, schedule, defaultArgs = "default_args", timeout
        case maxAttempts = "max_attempts", backoff, memoryLimit = "memory_limit_mb", cpuLimit = "cpu_limit_s"
        case catchUp = "catch_up", timeZone = "time_zone", concurrency, rateLimit = "rate_limit"
    }

    /// Runs a job of this task gets in all; `nil` means no limit.
    public var attemptLimit: Int? {
        switch retryPolicy {
        case .never: 1
        case .retryOnce: maxAttempts ?? 2
        case .retryAlways: maxAttempts
        }
    }

    /// The longest wait between two tries.
    public static let maxBackoff: Double = 300

    /// How long to wait before the next try after `attempt` runs failed: exponential from
    /// `backoff` (default 1 s), capped, with jitter so that jobs failing together do not retry
    /// together.
    public func retryDelay(afterAttempt attempt: Int, random: Double = .random(in: 0...1)) -> Double {
        let base = max(backoff ?? 1, 0)
        let exponential = base * pow(2, Double(max(attempt - 1, 0)))
        let capped = min(exponential, Self.maxBackoff)
        // Full jitter over the upper half: never less than half the nominal delay.
        return capped * (0.5 + 0.5 * random)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        runBefore = try c.decodeIfPresent([String].self, forKey: .runBefore) ?? []
        runAfter = try c.decodeIfPresent([String].self, forKey: .runAfter) ?? []
        onFailure = try c.decodeIfPresent(String.self, forKey: .onFailure)
        retryPolicy = try c.decodeIfPresent(RetryPolicy.self, forKey: .retryPolicy) ?? .retryOnce
        subprocess = try c.decodeIfPresent(Bool.self, forKey: .subprocess) ?? false
        schedule = try c.decodeIfPresent(String.self, forKey: .schedule)
        defaultArgs = try c.decodeIfPresent([String: JSONValue].self, forKey: .defaultArgs)
        timeout = try c.decodeIfPresent(Double.self, forKey: .timeout)
        maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts)
        backoff = try c.decodeIfPresent(Double.self, forKey: .backoff)
        memoryLimit = try c.decodeIfPresent(Int.self, forKey: .memoryLimit)
        cpuLimit = try c.decodeIfPresent(Int.self, forKey: .cpuLimit)
        catchUp = try c.decodeIfPresent(CatchUpPolicy.self, forKey: .catchUp)
        timeZone = try c.decodeIfPresent(String.self, forKey: .timeZone)
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency)
        rateLimit = try c.decodeIfPresent(RateLimit.self, forKey: .rateLimit)
    }
}

/// At most `limit` starts per `period` seconds: fixed windows of the period, counted from 1970,
/// so every manager of a store counts the same window.
public struct RateLimit: Codable, Sendable, Hashable {
    public var limit: Int
    /// Seconds.
    public var period: Double

    public init(limit: Int, period: Double) {
        self.limit = limit
        self.period = period
    }
}

/// A task as a plugin describes it and the manager publishes it.
public struct TaskSpec: Codable, Sendable, Hashable {
    public var name: String
    public var description: String?
    public var parameters: [TaskParameter]
    public var options: TaskOptions

    public init(name: String, description: String? = nil, parameters: [TaskParameter] = [], options: TaskOptions = .init()) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.options = options
    }

    /// Checks keyword arguments against the signature and fills in defaults.
    ///
    /// Every problem is reported, not just the first, so a client can fix its request at once.
    public func bind(_ arguments: JSONValue) throws(EasyJobsError) -> [String: JSONValue] {
        guard case .object(var args) = arguments else {
            throw EasyJobsError(
                .invalidArguments,
                "task '\(name)' takes its keyword arguments as a JSON object, got \(arguments.typeName)",
                context: ["task": name]
            )
        }
        var problems: [String] = []
        let known = Set(parameters.map(\.name))
        for key in args.keys.sorted() where !known.contains(key) {
            let expected = parameters.isEmpty ? "no arguments" : parameters.map(\.name).joined(separator: ", ")
            problems.append("unexpected argument '\(key)' (task takes \(expected))")
        }
        for parameter in parameters {
            if let value = args[parameter.name] {
                if !parameter.type.accepts(value) && !(value == .null && !parameter.required) {
                    problems.append("argument '\(parameter.name)' must be \(parameter.type.rawValue), got \(value.typeName)")
                } else if let problem = parameter.rangeProblem(value) {
                    problems.append(problem)
                }
            } else if let defaultValue = parameter.default {
                args[parameter.name] = defaultValue
            } else if parameter.required {
                problems.append("missing required argument '\(parameter.name)' (\(parameter.type.rawValue))")
            }
        }
        if !problems.isEmpty {
            throw EasyJobsError(
                .invalidArguments,
                "invalid arguments for task '\(name)': " + problems.joined(separator: "; "),
                context: ["task": name, "signature": signature]
            )
        }
        return args
    }

    /// The signature in a readable form: `extract(url: string)`.
    public var signature: String {
        let params = parameters.map { p -> String in
            var text = "\(p.name): \(p.cType ?? p.type.rawValue)"
            if !p.required { text += "?" }
            if let d = p.default { text += " = \(d.jsonString)" }
            return text
        }
        return "\(name)(\(params.joined(separator: ", ")))"
    }
}
