import Foundation

/// Answer of `POST /{queue}/task/{task}`.
public struct EnqueueResponse: Codable, Sendable {
    public var requestID: String
    public init(requestID: String) { self.requestID = requestID }
    enum CodingKeys: String, CodingKey { case requestID = "request_id" }
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

    public init(_ job: Job, hostName: String? = nil) {
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
    }

    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", queue, task, status, args, attempts, result, error, host
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at"
        case leaseExpiresAt = "lease_expires_at"
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

/// One queue's registered tasks (`GET /tasks`).
public struct QueueTasks: Codable, Sendable {
    public var queue: String
    public var tasks: [TaskSpec]
    public init(queue: String, tasks: [TaskSpec]) {
        self.queue = queue
        self.tasks = tasks
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
        let seconds = date.timeIntervalSince1970.rounded(.down)
        var microseconds = Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded())
        var whole = Int(seconds)
        if microseconds == 1_000_000 {
            whole += 1
            microseconds = 0
        }
        let day = Date(timeIntervalSince1970: TimeInterval(whole))
        let components = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: day)
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(components.year, 4))-\(pad(components.month, 2))-\(pad(components.day, 2))T"
            + "\(pad(components.hour, 2)):\(pad(components.minute, 2)):\(pad(components.second, 2)).\(pad(microseconds, 6))Z"
    }

    /// Parses ISO 8601 with any number of fractional digits.
    public static func parse(_ text: String) -> Date? {
        var main = Substring(text)
        var fraction = 0.0
        if main.hasSuffix("Z") { main = main.dropLast() }
        if let dot = main.firstIndex(of: ".") {
            fraction = Double("0" + main[dot...]) ?? 0
            main = main[..<dot]
        }
        guard let whole = try? Date(String(main) + "Z", strategy: .iso8601) else { return nil }
        return whole.addingTimeInterval(fraction)
    }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
