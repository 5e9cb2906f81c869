import EasyJobsCore
import Hummingbird

/// The host protocol (docs/host-protocol.md), behind the shared secret.
struct HostRoutes {
    typealias Context = ManagerRequestContext
    let coordinator: Coordinator

    func add(to router: some RouterMethods<Context>) {
        router.post("/register") { request, _ in
            var request = request
            let registration = try await request.decode(HostRegistration.self, limit: 16 << 20)
            return try JSONResponse.make(try await coordinator.register(registration))
        }
        router.post("/claim") { request, context in
            var request = request
            let claim = try await request.decode(ClaimRequest.self, limit: coordinator.options.maxBodySize)
            let channel = context.channel
            return try JSONResponse.make(ClaimResponse(jobs: try await coordinator.claim(claim) { channel.isActive }))
        }
        router.post("/report") { request, _ in
            var request = request
            // Reports carry results, several at a time.
            let report = try await request.decode(ReportRequest.self, limit: 64 << 20)
            return try JSONResponse.make(try await coordinator.report(report))
        }
        router.post("/unregister") { request, _ in
            var request = request
            let leaving = try await request.decode(UnregisterRequest.self, limit: coordinator.options.maxBodySize)
            let released = try await coordinator.unregister(hostID: leaving.hostID)
            return try JSONResponse.make(UnregisterResponse(released: released.map(\.id)))
        }
        router.post("/call") { request, _ in
            var request = request
            let call = try await request.decode(CallRequest.self, limit: coordinator.options.maxBodySize)
            let job = try await coordinator.call(call)
            return try JSONResponse.make(EnqueueResponse(requestID: job.id))
        }
        router.post("/await") { request, context in
            var request = request
            let wait = try await request.decode(AwaitRequest.self, limit: coordinator.options.maxBodySize)
            let channel = context.channel
            let job = try await coordinator.awaitFinish(id: wait.jobID, wait: wait.wait) { channel.isActive }
            guard job.status.isFinished else {
                return try JSONResponse.make(PendingResult(requestID: job.id, status: job.status), status: .accepted)
            }
            return try JSONResponse.make(JobView(job))
        }
        router.post("/events") { request, context in
            var request = request
            let events = try await request.decode(EventsRequest.self, limit: coordinator.options.maxBodySize)
            let channel = context.channel
            return try JSONResponse.make(try await coordinator.events(events) { channel.isActive })
        }
        router.post("/logs") { request, _ in
            var request = request
            let logs = try await request.decode(LogsRequest.self, limit: 16 << 20)
            try await coordinator.appendLogs(logs)
            return try JSONResponse.make(["accepted": logs.lines.values.reduce(0) { $0 + $1.count }])
        }
        router.post("/release") { request, _ in
            var request = request
            let release = try await request.decode(ReleaseRequest.self, limit: coordinator.options.maxBodySize)
            let released = try await coordinator.release(release)
            return try JSONResponse.make(UnregisterResponse(released: released.map(\.id)))
        }
        router.post("/heartbeat") { request, _ in
            var request = request
            let heartbeat = try await request.decode(HeartbeatRequest.self, limit: coordinator.options.maxBodySize)
            return try JSONResponse.make(try await coordinator.heartbeat(heartbeat))
        }
    }
}
