import EasyJobsCore
import EasyJobsStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Crypto

/// The manager: the HTTP API over a job store, with the services that keep leases honest.
///
/// ```swift
/// let store = try SQLiteJobStore(path: options.databasePath)
/// let app = try await ManagerApplication.make(options: options, store: store, logger: logger)
/// try await app.runService()   // until SIGTERM or SIGINT
/// ```

public enum ManagerApplication {
    /// Builds the application. `onListening` receives the bound URL (useful with port 0).
    public static func make(
        options: ManagerOptions,
        store: any ManagerStore,
        logger: Logger,
        onListening: @escaping @Sendable (String) async -> Void = { _ in }
    ) async throws -> some ApplicationProtocol & Service {
        try options.validate()
        let registry = TaskRegistry(hosts: try await Self.replayableHosts(store: store, logger: logger))
        let tokens = try await Self.jobTokens(store: store, options: options)
        let pauses = PauseState(try await store.paused())
        let coordinator = Coordinator(store: store, registry: registry, tokens: tokens, pauses: pauses, options: options, logger: logger)

        let router = Router(context: ManagerRequestContext.self)
        router.add(middleware: ErrorMiddleware(compatibility: options.compatibility))
        // Every public route is registered through the book that /openapi.json is written from.
        let book = RouteBook()
        let system = DocumentedRouter(router: router, book: book)
        system.get("/health") { _, _ in
            try JSONResponse.make(["status": "ok"])
        }
        // Docs describe what is registered now: read at every request, so a reload shows at once.
        system.get("/openapi.json") { _, _ in
            JSONResponse.raw(
                OpenAPIDocument.make(
                    queues: registry.queues, routes: book.routes, compatibility: options.compatibility, authenticated: options.apiToken != nil
                )
                .encoded())
        }
        system.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: try await coordinator.scrapeMetrics())))
        }
        system.get("/") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: Pages.dashboard)))
        }
        router.get("/favicon.ico") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "image/svg+xml"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        string:
                            ##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2b6cb0"/></svg>"##
                    )))
        }
        system.get("/docs") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: Pages.docs)))
        }
        let clients = DocumentedRouter(router: router.group().add(middleware: BearerTokenMiddleware(token: options.apiToken)), book: book)
        ClientRoutes(coordinator: coordinator, skipping: options.compatibility == .easyjobs ? EasyJobsCompatibleRoutes.paths : []).add(to: clients)
        if options.compatibility == .easyjobs { EasyJobsCompatibleRoutes(coordinator: coordinator).add(to: clients) }
        // A subprocess child holds only its job's token: neither the secret nor the API token.
        system.post("/job/report") { request, _ in
            var request = request
            // The token names its run, so a request without a valid one is refused before its body is read.
            let run = try coordinator.verifyJobToken(request.headers[.easyJobsJobToken])
            let report = try await request.decodeMessage(JobReport.self, limit: options.maxReportSize)
            try await coordinator.childReport(report, run: run)
            return try JSONResponse.make(["accepted": report.jobID])
        }
        system.post("/job/progress") { request, _ in
            var request = request
            let run = try coordinator.verifyJobToken(request.headers[.easyJobsJobToken])
            let progress = try await request.decode(ChildProgress.self, limit: options.maxBodySize)
            try await coordinator.childProgress(progress, run: run)
            return try JSONResponse.make(["recorded": true])
        }
        HostRoutes(coordinator: coordinator).add(
            to: router.group(RouterPath(WireContract.HostEndpoint.group)).add(middleware: SecretMiddleware(secret: options.secret)))

        let host = options.host
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port), serverName: "EasyJobs"),
            services: [LeaseReaper(coordinator: coordinator, logger: logger)]
                + (options.webhookSecret.map { [WebhookDispatcher(store: store, secret: $0, maxAttempts: options.webhookAttempts, logger: logger)] }
                    ?? [])
                + (options.firesSchedules ? [Scheduler(coordinator: coordinator, logger: logger)] : [])
                + pruner(store: store, options: options, logger: logger)
                + (options.rabbitMQ.map { [BrokerConsumer(coordinator: coordinator, options: $0, logger: logger)] } ?? [])
                + (options.peerSyncInterval > .zero
                    ? [PeerSync(coordinator: coordinator, interval: options.peerSyncInterval, logger: logger)] : []),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? options.port
                await onListening("http://\(host.contains(":") ? "[\(host)]" : host):\(port)")
            },
            logger: logger)
    }

    /// The key of subprocess job tokens: kept in a shared store, so every manager of it accepts
    /// a child's report, else in the data directory.
    static func jobTokens(store: any ManagerStore, options: ManagerOptions) async throws -> JobTokens {
        guard let keys = store as? any SharedKeyStore else { return try JobTokens.load(from: options.dataDirectory) }
        let proposed = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return JobTokens(key: SymmetricKey(data: try await keys.sharedKey(named: "job-tokens", proposed: proposed)))
    }

    static func pruner(store: any ManagerStore, options: ManagerOptions, logger: Logger) -> [any Service] {
        guard options.retain > .zero, let retention = store as? any JobRetention else { return [] }
        return [Pruner(store: retention, retain: options.retain, interval: options.pruneInterval, logger: logger)]
    }

    /// The stored registrations that pass today's checks: one stored before a limit existed
    /// must not take the manager down at every start. The others are left out, with a warning;
    /// their hosts register again when they next talk to the manager.
    static func replayableHosts(store: any HostStore, logger: Logger) async throws -> [HostRecord] {
        try await store.hosts().filter { host in
            guard let problem = Coordinator.registrationProblem(host) else { return true }
            logger.warning("not restoring a stored host registration: \(problem)", metadata: ["host_id": "\(host.id)"])
            return false
        }
    }

}
