import EasyJobsCore
import HTTPTypes
import Hummingbird

/// The host protocol (docs/host-protocol.md), behind the shared secret. Registration issues a
/// session token; every other endpoint requires it and acts only for the host it names.
struct HostRoutes {
    typealias Context = ManagerRequestContext
    let coordinator: Coordinator

    /// Largest registration: far above any real plugin set, small enough to check quickly.
    static let registrationLimit = 4 << 20

    func add(to router: some RouterMethods<Context>) {
        router.post(RouterPath(WireContract.HostEndpoint.register.route)) { request, _ in
            var request = request
            let registration = try await request.decode(HostRegistration.self, limit: Self.registrationLimit)
            let presented = request.headers[.easyJobsSession]
            return try JSONResponse.make(try await coordinator.register(registration, session: presented))
        }
        let session = router.group().add(middleware: HostSessionMiddleware(coordinator: coordinator))
        session.post(RouterPath(WireContract.HostEndpoint.claim.route)) { request, context in
            var request = request
            let claim = try await request.decode(ClaimRequest.self, limit: coordinator.options.maxBodySize)
            try context.requireHost(claim.hostID)
            let channel = context.channel
            return JSONResponse.message(ClaimResponse(jobs: try await coordinator.claim(claim) { channel.isActive }))
        }
        session.post(RouterPath(WireContract.HostEndpoint.report.route)) { request, context in
            var request = request
            let report = try await request.decodeMessage(ReportRequest.self, limit: coordinator.options.maxReportSize)
            try context.requireHost(report.hostID)
            return JSONResponse.message(try await coordinator.report(report))
        }
        session.post(RouterPath(WireContract.HostEndpoint.unregister.route)) { request, context in
            var request = request
            let leaving = try await request.decode(UnregisterRequest.self, limit: coordinator.options.maxBodySize)
            try context.requireHost(leaving.hostID)
            let released = try await coordinator.unregister(hostID: leaving.hostID)
            return try JSONResponse.make(UnregisterResponse(released: released.map(\.id)))
        }
        session.post(RouterPath(WireContract.HostEndpoint.call.route)) { request, context in
            var request = request
            let call = try await request.decode(CallRequest.self, limit: coordinator.options.maxBodySize)
            try context.requireHost(call.hostID)
            let job = try await coordinator.call(call)
            return try JSONResponse.make(EnqueueResponse(requestID: job.id))
        }
        session.post(RouterPath(WireContract.HostEndpoint.progress.route)) { request, context in
            var request = request
            let progress = try await request.decode(ProgressRequest.self, limit: coordinator.options.maxBodySize)
            try context.requireHost(progress.hostID)
            try await coordinator.recordProgress(progress)
            return try JSONResponse.make(["recorded": true])
        }
        session.post(RouterPath(WireContract.HostEndpoint.await.route)) { request, context in
            var request = request
            let wait = try await request.decode(AwaitRequest.self, limit: coordinator.options.maxBodySize)
            let channel = context.channel
            let job = try await coordinator.awaitFinish(id: wait.jobID, wait: wait.wait) { channel.isActive }
            guard job.status.isFinished else {
                return try JSONResponse.make(PendingResult(requestID: job.id, status: job.status), status: .accepted)
            }
            return try JSONResponse.make(JobView(job))
        }
        session.post(RouterPath(WireContract.HostEndpoint.events.route)) { request, context in
            var request = request
            let events = try await request.decode(EventsRequest.self, limit: coordinator.options.maxBodySize)
            try context.requireHost(events.hostID)
            let channel = context.channel
            return try JSONResponse.make(try await coordinator.events(events) { channel.isActive })
        }
        session.post(RouterPath(WireContract.HostEndpoint.logs.route)) { request, context in
            var request = request
            let logs = try await request.decode(LogsRequest.self, limit: 16 << 20)
            try context.requireHost(logs.hostID)
            try await coordinator.appendLogs(logs)
            return try JSONResponse.make(["accepted": logs.lines.values.reduce(0) { $0 + $1.count }])
        }
        session.post(RouterPath(WireContract.HostEndpoint.release.route)) { request, context in
            var request = request
            let release = try await request.decode(ReleaseRequest.self, limit: coordinator.options.maxBodySize)
            try context.requireHost(release.hostID)
            let released = try await coordinator.release(release)
            return try JSONResponse.make(UnregisterResponse(released: released.map(\.id)))
        }
        session.post(RouterPath(WireContract.HostEndpoint.heartbeat.route)) { request, context in
            var request = request
            let heartbeat = try await request.decode(HeartbeatRequest.self, limit: coordinator.options.maxBodySize)
            try context.requireHost(heartbeat.hostID)
            return try JSONResponse.make(try await coordinator.heartbeat(heartbeat))
        }
    }
}
