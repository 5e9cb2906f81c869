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
        router.post("/heartbeat") { request, _ in
            var request = request
            let heartbeat = try await request.decode(HeartbeatRequest.self, limit: coordinator.options.maxBodySize)
            return try JSONResponse.make(try await coordinator.heartbeat(heartbeat))
        }
    }
}
