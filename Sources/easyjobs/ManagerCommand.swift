import EasyJobsHostCLI
import ArgumentParser
import EasyJobsManager
import EasyJobsStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

struct ManagerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "manager", abstract: "Run the manager: the REST API over the durable job store.")

    @OptionGroup var options: ManagerFlags

    func run() async throws {
        let logger = LogSetup.bootstrap(level: options.logLevel, label: "easyjobs.manager")
        do {
            let managerOptions = try options.resolve()
            let store = try options.openStore(managerOptions, logger: logger)
            let manager = ManagerService(store: store, options: managerOptions, logger: logger) { url in
                announce("EasyJobs manager listening on \(url)")
            }
            let group = ServiceGroup(
                configuration: .init(services: store.services + [manager], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        } catch {
            fail(error)
        }
    }
}

/// The manager's flags, shared by `manager` and `up`.
struct ManagerFlags: ParsableArguments {
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 8220
    @Option(name: .customLong("data-dir"), help: "Where the SQLite database and the job-token key live (EASYJOBS_DATA_DIR).") var dataDir: String?
    @Option(
        help:
            "Where jobs live: 'sqlite' (the default, in --data-dir) or postgres://user:password@host:port/database, which several managers can share (EASYJOBS_STORE)."
    )
    var store: String?
    @Option(help: "API shapes: 'native', or 'easyjobs' to answer the Python EasyJobs' clients as it does (EASYJOBS_COMPAT).")
    var compat: String?
    @Option(help: "Also take jobs from RabbitMQ, as the Python EasyJobs' broker does: amqp://user:password@host:port/vhost (EASYJOBS_RABBITMQ).")
    var rabbitmq: String?
    @Option(
        name: .customLong("rabbitmq-queue"),
        help: "A queue (namespace) to consume from RabbitMQ; repeat for several (EASYJOBS_RABBITMQ_QUEUES, comma-separated).")
    var rabbitmqQueues: [String] = []
    @Flag(
        name: .customLong("rabbitmq-transient"),
        help: "Declare the RabbitMQ queues as the Python EasyJobs does (not durable, auto-deleted) to share them with it.")
    var rabbitmqTransient = false
    @Option(name: .customLong("peer-sync"), help: "Seconds between re-reads of hosts and pauses that other managers of the store change; 0 never.")
    var peerSync: Double = 1
    @Option(
        name: .customLong("gauge-interval"),
        help: "Seconds between counts of the queues for the /metrics depth gauges (scrapes in between answer the last counts); 0: every scrape.")
    var gaugeInterval: Double = 1
    @Option(help: "Shared secret of the host endpoints (EASYJOBS_SECRET).") var secret: String?
    @Option(name: .customLong("api-token"), help: "Token clients must send as 'Authorization: Bearer' (EASYJOBS_API_TOKEN).") var apiToken: String?
    @Option(name: .customLong("webhook-secret"), help: "Key completion webhooks are signed with (EASYJOBS_WEBHOOK_SECRET); webhooks need it.")
    var webhookSecret: String?
    @Option(name: .customLong("lease"), help: "Seconds a claimed job is held without a heartbeat.") var leaseSeconds: Double = 30
    @Option(name: .customLong("max-body"), help: "Largest request body in bytes.") var maxBodySize = 1 << 20
    @Option(
        name: .customLong("max-batch-jobs"), help: "Most jobs one batch enqueue (POST /{queue}/tasks) may carry; its body may be 16 × --max-body.")
    var maxBatchJobs = 10_000
    @Option(name: .customLong("max-report"), help: "Largest report of finished runs, results included, in bytes.") var maxReportSize = 64 << 20
    @Option(help: "How long finished jobs, results and logs are kept: 7d, 12h, 30m, 3600s, seconds, or 'forever' (EASYJOBS_RETAIN).")
    var retain: String?
    @Option(name: .customLong("max-log-lines"), help: "Lines kept of one job's log.") var maxLogLines = 10_000
    @Option(name: .customLong("durability"), help: "normal: survives a crash of the process; full: also a power loss (an fsync per commit).")
    var durability = "normal"
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (EASYJOBS_LOG_LEVEL).") var logLevel: String?
    @Flag(name: .customLong("no-schedules"), help: "Do not fire cron schedules (another manager on the store does, or a test).")
    var noSchedules = false

    func resolve() throws -> ManagerOptions {
        let compatText = compat ?? Environment.value("EASYJOBS_COMPAT") ?? "native"
        guard let compatibility = APICompatibility(rawValue: compatText) else {
            throw ValidationError("--compat must be 'native' or 'easyjobs', got '\(compatText)'")
        }
        let retention = try Self.duration(retain ?? Environment.value("EASYJOBS_RETAIN") ?? "7d", flag: "--retain")
        var options = ManagerOptions(
            host: host, port: port,
            dataDirectory: URL(fileURLWithPath: dataDir ?? Environment.value("EASYJOBS_DATA_DIR") ?? ".easyjobs"),
            secret: secret ?? Environment.value("EASYJOBS_SECRET"),
            apiToken: apiToken ?? Environment.value("EASYJOBS_API_TOKEN"),
            lease: try Seconds.flag(leaseSeconds, flag: "--lease"), maxBodySize: maxBodySize, maxReportSize: maxReportSize,
            maxBatchJobs: maxBatchJobs, retain: retention, pruneInterval: min(.seconds(60), max(retention / 10, .milliseconds(500))),
            maxLogLinesPerJob: maxLogLines, firesSchedules: !noSchedules, peerSyncInterval: try Seconds.flag(peerSync, flag: "--peer-sync"),
            compatibility: compatibility, rabbitMQ: try rabbitMQOptions())
        options.webhookSecret = webhookSecret ?? Environment.value("EASYJOBS_WEBHOOK_SECRET")
        options.gaugeInterval = try Seconds.flag(gaugeInterval, flag: "--gauge-interval")
        return options
    }

    /// Seconds in `7d`, `12h`, `30m`, `3600s` or `3600`; `forever` or 0 is 0 (never prune).
    static func duration(_ text: String, flag: String) throws -> Duration {
        if text == "forever" { return .zero }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let unit = text.last.flatMap { units[$0] }
        guard let number = Double(unit == nil ? Substring(text) : text.dropLast()), number >= 0, number * (unit ?? 1) <= Seconds.maximum else {
            throw ValidationError("\(flag) must be a duration such as 7d, 12h, 30m, 3600s or a number of seconds, or 'forever'; got '\(text)'")
        }
        return .seconds(number * (unit ?? 1))
    }

    func rabbitMQOptions() throws -> RabbitMQOptions? {
        guard let url = rabbitmq ?? Environment.value("EASYJOBS_RABBITMQ") else { return nil }
        let queues =
            rabbitmqQueues.isEmpty
            ? (Environment.value("EASYJOBS_RABBITMQ_QUEUES") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            : rabbitmqQueues
        guard !queues.isEmpty else {
            throw ValidationError("--rabbitmq needs at least one --rabbitmq-queue (the namespaces to consume)")
        }
        return RabbitMQOptions(url: url, queues: queues, durable: !rabbitmqTransient)
    }

    func openStore(_ options: ManagerOptions, logger: Logger) throws -> OpenedStore {
        try OpenedStore.open(store ?? Environment.value("EASYJOBS_STORE") ?? "sqlite", options: options, durability: durability, logger: logger)
    }
}
