import EasyJobsCore
import Foundation

/// How a manager runs. Every field has a documented default; the CLI maps flags and
/// `EASYJOBS_*` environment variables onto it.
public struct ManagerOptions: Sendable {
    /// Address to listen on. Default `127.0.0.1`.
    public var host: String
    /// Port to listen on; 0 picks a free one. Default 8220.
    public var port: Int
    /// Where the SQLite database lives. Default `./.easyjobs`.
    public var dataDirectory: URL
    /// Shared secret of the host endpoints (`X-EasyJobs-Secret`). Required off loopback.
    public var secret: String?
    /// When set, client endpoints need `Authorization: Bearer <token>`.
    public var apiToken: String?
    /// The key completion webhooks are signed with (HMAC-SHA256, `EasyJobs-Signature`); an
    /// enqueue with a webhook is refused while it is not set. Default none.
    public var webhookSecret: String?
    /// Attempts of one webhook delivery before it is given up (backoff 1 s, doubling, up to 1 h). Default 8.
    public var webhookAttempts = 8
    /// How long a claim holds a job without a heartbeat. Default 30 s.
    public var lease: Duration
    /// Largest request body, in bytes. Default 1 MiB.
    public var maxBodySize: Int
    /// Largest report of finished runs (results included), in bytes. Default 64 MiB. A host whose
    /// report is refused for its size reports those jobs failed instead.
    public var maxReportSize: Int
    /// Most jobs one batch enqueue (`POST /{queue}/tasks`) may carry. Default 10,000. Its body may
    /// be 16 times `maxBodySize` (16 MiB by default). A batch is refused as a whole, never cut short.
    public var maxBatchJobs: Int
    /// How long finished jobs, their results and logs are kept; zero keeps them forever.
    /// Default 7 days.
    public var retain: Duration
    /// How often finished jobs past `retain` are pruned. Default 60 s.
    public var pruneInterval: Duration
    /// Lines kept of one job's log; later lines are dropped after one marker line. Default 10,000.
    public var maxLogLinesPerJob: Int
    /// Longest a claim or pull may wait. Default 60 s.
    public var maxWait: Duration
    /// How often leases are checked for expiry. Default 1 s.
    public var reapInterval: Duration
    /// Whether this manager fires cron schedules. Default true; several managers on one store
    /// coordinate through a lock, so turning it off is only for tests and special deployments.
    public var firesSchedules: Bool
    /// How often hosts, their last-seen times and pauses are re-read from the store, which
    /// other managers sharing it change; zero never. Default 1 s. A store with events
    /// (PostgreSQL) also re-reads at once when another manager changes them.
    public var peerSyncInterval: Duration
    /// The shapes of the read paths and errors: ``APICompatibility/native`` (default), or those
    /// of the Python EasyJobs for its users' clients.
    public var compatibility: APICompatibility
    /// Take jobs from these RabbitMQ queues too (the Python EasyJobs' broker). Default none.
    public var rabbitMQ: RabbitMQOptions?
    /// How often a scrape of `/metrics` counts each queue's unfinished jobs again for the depth
    /// gauges (`easyjobs_queue_depth`, `_jobs_running`, `_jobs_waiting`); a scrape sooner
    /// answers the last counts. Default 1 s; zero counts at every scrape. Counting reads every
    /// queued job's index entry, so a client that scrapes in a tight loop (a dashboard, a
    /// script waiting on a counter) would otherwise cost the manager in proportion to its queues.
    public var gaugeInterval: Duration = .seconds(1)

    public init(
        host: String = "127.0.0.1",
        port: Int = 8220,
        dataDirectory: URL = URL(fileURLWithPath: ".easyjobs"),
        secret: String? = nil,
        apiToken: String? = nil,
        lease: Duration = .seconds(30),
        maxBodySize: Int = 1 << 20,
        maxReportSize: Int = 64 << 20,
        maxBatchJobs: Int = 10_000,
        retain: Duration = .seconds(7 * 86_400),
        pruneInterval: Duration = .seconds(60),
        maxLogLinesPerJob: Int = 10_000,
        maxWait: Duration = .seconds(60),
        reapInterval: Duration = .seconds(1),
        firesSchedules: Bool = true,
        peerSyncInterval: Duration = .seconds(1),
        compatibility: APICompatibility = .native,
        rabbitMQ: RabbitMQOptions? = nil
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.secret = secret
        self.apiToken = apiToken
        self.lease = lease
        self.maxBodySize = maxBodySize
        self.maxReportSize = maxReportSize
        self.maxBatchJobs = maxBatchJobs
        self.retain = retain
        self.pruneInterval = pruneInterval
        self.maxLogLinesPerJob = maxLogLinesPerJob
        self.maxWait = maxWait
        self.reapInterval = reapInterval
        self.firesSchedules = firesSchedules
        self.peerSyncInterval = peerSyncInterval
        self.compatibility = compatibility
        self.rabbitMQ = rabbitMQ
    }

    /// Refuses settings that would be unsafe or cannot work.
    public func validate() throws(EasyJobsError) {
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(host) || host.hasPrefix("127.")
        if !loopback && (secret ?? "").isEmpty {
            throw EasyJobsError(
                .invalidConfiguration,
                "refusing to listen on \(host) without a secret: hosts could run anything. Set --secret or EASYJOBS_SECRET, or listen on 127.0.0.1",
                context: ["host": host])
        }
        if lease < .seconds(1) {
            throw EasyJobsError(.invalidConfiguration, "lease must be at least 1 second, got \(lease.secondsText) s")
        }
    }

    /// Largest body of a batch enqueue, in bytes.
    public var maxBatchBodySize: Int {
        maxBodySize * 16
    }

    public var databasePath: String {
        dataDirectory.appendingPathComponent("easyjobs.sqlite").path
    }
}

/// Whose API shapes the manager answers in.
public enum APICompatibility: String, Sendable, CaseIterable {
    /// EasyJobs for Swift's own shapes: `JobView`, `{"error": {"code", "message", "context"}}`.
    case native
    /// The Python EasyJobs': result and job rows (`{"job_id", "results"}`), bare pulled results,
    /// `{"detail": message}` errors.
    case easyjobs
}
