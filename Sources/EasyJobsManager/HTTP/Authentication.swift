import EasyJobsCore
import HTTPTypes
import Hummingbird

/// Requires the shared secret in `X-EasyJobs-Secret` on host endpoints, when one is set.
struct SecretMiddleware<Context: RequestContext>: RouterMiddleware {
    let secret: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let secret, !secret.isEmpty {
            guard let given = request.headers[.easyJobsSecret] else {
                throw EasyJobsError(.unauthorized, "host endpoints need the shared secret in the X-EasyJobs-Secret header")
            }
            guard constantTimeEquals(given, secret) else {
                throw EasyJobsError(.forbidden, "the shared secret in X-EasyJobs-Secret is wrong")
            }
        }
        return try await next(request, context)
    }
}

/// Requires `Authorization: Bearer <token>` on client endpoints, when a token is set.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let token, !token.isEmpty {
            guard let header = request.headers[.authorization] else {
                throw EasyJobsError(.unauthorized, "this manager needs an API token: send 'Authorization: Bearer <token>'")
            }
            let prefix = "Bearer "
            guard header.hasPrefix(prefix) else {
                throw EasyJobsError(.unauthorized, "the Authorization header must be 'Bearer <token>'")
            }
            guard constantTimeEquals(String(header.dropFirst(prefix.count)), token) else {
                throw EasyJobsError(.forbidden, "the API token is wrong")
            }
        }
        return try await next(request, context)
    }
}

/// Compares without an early exit, so the time taken says nothing about where they differ.
func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    var difference: UInt8 = x.count == y.count ? 0 : 1
    for index in 0..<max(x.count, y.count) {
        let left = index < x.count ? x[index] : 0
        let right = index < y.count ? y[index] : 0
        difference |= left ^ right
    }
    return difference == 0
}

/// Requires a host's session token (`X-EasyJobs-Session`) and records whose it is, so a host
/// can act only on its own jobs.
struct HostSessionMiddleware: RouterMiddleware {
    typealias Context = ManagerRequestContext
    let coordinator: Coordinator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.hostID = try await coordinator.authenticate(session: request.headers[.easyJobsSession])
        return try await next(request, context)
    }
}
