#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Answer of `POST /{queue}/task/{task}`.
public struct EnqueueResponse: Codable, Sendable {
    public var requestID: String
    /// The enqueue repeated an earlier one (its idempotency key, or `unique_for`): `request_id`
    /// is that enqueue's job and nothing new was stored. Absent otherwise.
    public var deduplicated: Bool?
    public init(requestID: String, deduplicated: Bool = false) {
        self.requestID = requestID
        self.deduplicated = deduplicated ? true : nil
    }
    enum CodingKeys: String, CodingKey { case requestID = "request_id", deduplicated }
}

/// One job of a batch enqueue (`POST /{queue}/tasks`): a task of the queue and its arguments,
/// in any form the single enqueue takes (keyword object or `{"args": [...], "kwargs": {...}}`),
/// and its ``EnqueueOptions`` as fields beside them (`{"task": "t", "arguments": {}, "delay": 30}`).
public struct BatchEnqueueItem: Codable, Sendable, Hashable {
    public var task: String
    public var arguments: JSONValue
    public var options: EnqueueOptions
    public init(task: String, arguments: JSONValue = [:], options: EnqueueOptions = EnqueueOptions()) {
        self.task = task
        self.arguments = arguments
        self.options = options
    }

    enum CodingKeys: String, CodingKey { case task, arguments }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        task = try container.decode(String.self, forKey: .task)
        arguments = try container.decodeIfPresent(JSONValue.self, forKey: .arguments) ?? [:]
        options = try EnqueueOptions(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(task, forKey: .task)
        try container.encode(arguments, forKey: .arguments)
        try options.encode(to: encoder)
    }
}

/// Answer of `POST /{queue}/tasks`: the request id of each job, in the order of the request.
public struct BatchEnqueueResponse: Codable, Sendable {
    public var requestIDs: [String]
    /// Indexes of the jobs that repeated earlier enqueues (their request ids are those jobs');
    /// absent when none did.
    public var deduplicated: [Int]?
    public init(requestIDs: [String], deduplicated: [Int] = []) {
        self.requestIDs = requestIDs
        self.deduplicated = deduplicated.isEmpty ? nil : deduplicated
    }
    enum CodingKeys: String, CodingKey { case requestIDs = "request_ids", deduplicated }
}

/// A job as the client API shows it (`GET /job/view/result`, the lists).
public struct JobView: Codable, Sendable, Hashable {
    public var requestID: String
    public var queue: String
    public var task: String
    public var status: JobStatus
    public var args: [String: JSONValue]
    public var attempts: Int
    public var result: JSONValue?
    public var error: String?
    public var host: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var leaseExpiresAt: Date?
    public var origin: JobOrigin
    /// Runs allowed in all; `nil` means no limit.
    public var maxAttempts: Int?
    /// When a job that failed is tried again.
    public var nextTryAt: Date?
    /// Jobs this one created: its `run_after`, `on_failure` and the tasks it called.
    public var triggered: [JobLink]
    /// Jobs this one waits for: its `run_before`.
    public var waitsOn: [JobLink]
    /// Cancellation was asked for while it ran; its host is stopping it.
    public var cancelRequested: Bool
    /// The plugin build that ran it.
    public var plugin: PluginRef?
    /// Why a queued job does not move, such as "no host serves this task".
    public var note: String?
    /// For a job a schedule fired: the time it was fired for.
    public var scheduledFor: Date?
    /// A `scheduled` job's time to run.
    public var runAt: Date?
    /// Higher runs first. Optional on the wire only: a manager before job priorities sends none.
    public var priority: Int?
    /// The job ends `expired` if not started by then.
    public var expiresAt: Date?
    /// How far its latest run got, from 0 to 1, and what it said then (`context.progress`).
    public var progress: Double?
    public var progressMessage: String?

    public init(_ job: Job, hostName: String? = nil, children: [Job] = []) {
        requestID = job.id
        queue = job.queue
        task = job.task
        status = job.status
        args = job.args
        attempts = job.attempts
        result = job.result
        error = job.error
        host = hostName ?? job.hostID
        createdAt = job.createdAt
        startedAt = job.startedAt
        finishedAt = job.finishedAt
        leaseExpiresAt = job.leaseExpiresAt
        origin = job.origin
        maxAttempts = job.maxAttempts
        nextTryAt = job.status == .queued && job.attempts > 0 ? job.runAt : nil
        runAt = job.status == .scheduled || (job.status == .waiting && job.runAt != nil) ? job.runAt : nil
        priority = job.priority
        expiresAt = job.expiresAt
        progress = job.progress
        progressMessage = job.progressMessage
        waitsOn = children.filter { $0.origin.kind == .runBefore }.map(JobLink.init)
        triggered = children.filter { $0.origin.kind != .runBefore }.map(JobLink.init)
        cancelRequested = job.cancelRequested
        plugin = job.plugin
        note = nil
        scheduledFor = job.scheduledFor
    }

    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", queue, task, status, args, attempts, result, error, host
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at"
        case leaseExpiresAt = "lease_expires_at", origin, maxAttempts = "max_attempts", nextTryAt = "next_try_at"
        case triggered, waitsOn = "waits_on", cancelRequested = "cancel_requested", plugin, note
        case scheduledFor = "scheduled_for", runAt = "run_at", priority, expiresAt = "expires_at"
        case progress, progressMessage = "progress_message"
    }
}

/// Another job of the same pipeline, as a job view links to it.
public struct JobLink: Codable, Sendable, Hashable {
    public var requestID: String
    public var task: String
    public var status: JobStatus
    public var origin: JobOrigin.Kind

    public init(_ job: Job) {
        requestID = job.id
        task = job.task
        status = job.status
        origin = job.origin.kind
    }

    enum CodingKeys: String, CodingKey { case requestID = "request_id", task, status, origin }
}

/// A whole pipeline: every job reachable from one, with the edges that created them
/// (`GET /job/view/graph`).
public struct JobGraph: Codable, Sendable {
    public struct Edge: Codable, Sendable, Hashable {
        public var from: String
        public var to: String
        public var kind: JobOrigin.Kind
        public init(from: String, to: String, kind: JobOrigin.Kind) {
            self.from = from
            self.to = to
            self.kind = kind
        }
    }

    public var root: String
    public var jobs: [JobView]
    public var edges: [Edge]

    public init(root: String, jobs: [JobView], edges: [Edge]) {
        self.root = root
        self.jobs = jobs
        self.edges = edges
    }
}

/// Answer of the job lists (`/job/view/queued`, `/job/view/running`, `/job/view/results`).
public struct JobList: Codable, Sendable {
    public var jobs: [JobView]
    public var count: Int
    public init(jobs: [JobView]) {
        self.jobs = jobs
        count = jobs.count
    }
}

/// Answer of `GET /job/pull/result` while the job has not finished within the wait.
public struct PendingResult: Codable, Sendable {
    public var requestID: String
    public var status: JobStatus
    public init(requestID: String, status: JobStatus) {
        self.requestID = requestID
        self.status = status
    }
    enum CodingKeys: String, CodingKey { case requestID = "request_id", status }
}

/// One queue's registered tasks (`GET /tasks`), with what is wrong with them.
public struct QueueTasks: Codable, Sendable {
    public var queue: String
    public var tasks: [TaskSpec]
    /// Task name → problems found when the tasks were registered (unknown names, cycles).
    public var problems: [String: [String]]

    public init(queue: String, tasks: [TaskSpec], problems: [String: [String]] = [:]) {
        self.queue = queue
        self.tasks = tasks
        self.problems = problems
    }
}

/// JSON coders with the API's conventions: UTC ISO 8601 dates with microseconds.
public enum WireCoding {
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(format(date))
        }
        return encoder
    }

    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 date: \(text)")
            }
            return date
        }
        return decoder
    }

    /// `2026-11-26T17:00:30.123456Z`: microseconds, because queue waits are often under a millisecond.
    public static func format(_ date: Date) -> String {
        // Clamped to what `parse` accepts, so a value stored before dates were checked renders
        // instead of trapping in `Int(_:)`.
        let interval = date.timeIntervalSince1970.isFinite ? min(max(date.timeIntervalSince1970, 0), 253_402_300_799) : 0
        let seconds = interval.rounded(.down)
        var microseconds = Int(((interval - seconds) * 1_000_000).rounded())
        var whole = Int(seconds)
        if microseconds == 1_000_000 {
            whole += 1
            microseconds = 0
        }
        // The civil date of a day count (H. Hinnant's algorithm): a Calendar lookup per date cost
        // more than the rest of a claim answer, which carries one date per job.
        let days = whole / 86_400
        let secondOfDay = whole % 86_400
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var text = [UInt8]()
        text.reserveCapacity(27)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4)
        text.append(UInt8(ascii: "-"))
        digits(month, 2)
        text.append(UInt8(ascii: "-"))
        digits(day, 2)
        text.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3_600, 2)
        text.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2)
        text.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        text.append(UInt8(ascii: "."))
        digits(microseconds, 6)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with up to 9 fractional digits, years 1970–9999.
    ///
    /// Strict on purpose: a date the manager accepts is stored and formatted again later, so
    /// anything `format` cannot render (an exponent in the fraction, a year far outside the
    /// calendar) is refused here rather than crashing a reader of the stored value.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        // "2026-11-26T17:00:30" is 19 bytes; "Z" closes it.
        guard bytes.count >= 20, bytes.count <= 30, bytes.last == UInt8(ascii: "Z") else { return nil }
        let pattern = Array("dddd-dd-ddTdd:dd:dd".utf8)
        for (byte, expected) in zip(bytes.prefix(19), pattern) {
            if expected == UInt8(ascii: "d") {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            } else if byte != expected {
                return nil
            }
        }
        var fraction = 0.0
        let rest = bytes[19..<(bytes.count - 1)]
        if !rest.isEmpty {
            let digits = rest.dropFirst()
            guard rest.first == UInt8(ascii: "."), !digits.isEmpty, digits.count <= 9,
                digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            else { return nil }
            fraction = Double("0." + String(decoding: digits, as: UTF8.self)) ?? 0
        }
        func number(_ range: Range<Int>) -> Int { bytes[range].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } }
        let year = number(0..<4)
        let month = number(5..<7)
        let day = number(8..<10)
        let hour = number(11..<13)
        let minute = number(14..<16)
        let second = number(17..<19)
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1970...9999).contains(year), (1...12).contains(month), (1...monthDays[month - 1]).contains(day),
            hour < 24, minute < 60, second < 60
        else { return nil }
        // Days since 1970-01-01 of a civil date (H. Hinnant's algorithm), the inverse of `format`'s.
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = shiftedYear / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3_600 + minute * 60 + second) + fraction)
    }

}

/// Answer of `POST /jobs/retry`: the dead jobs queued again, each under its own request id.
public struct BulkRetryResponse: Codable, Sendable {
    public var retried: Int
    public var requestIDs: [String]
    public init(requestIDs: [String]) {
        retried = requestIDs.count
        self.requestIDs = requestIDs
    }
    enum CodingKeys: String, CodingKey { case retried, requestIDs = "request_ids" }
}

/// Answer of `POST /jobs/discard`.
public struct BulkDiscardResponse: Codable, Sendable {
    public var discarded: Int
    public init(discarded: Int) { self.discarded = discarded }
}
