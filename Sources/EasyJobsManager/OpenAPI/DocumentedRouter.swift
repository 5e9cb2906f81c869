import Hummingbird
import Synchronization

/// The fixed routes of the manager's public API, as they were registered: what `/openapi.json`
/// documents. Routes are added through `DocumentedRouter`, which records each one here, so the
/// document cannot miss a route the manager answers (the per-task routes are documented per
/// registered task instead).
final class RouteBook: Sendable {
    /// One registered route: its method (`get`, `post`) and its Hummingbird path (`/jobs`,
    /// `/schedules/:queue/:task/pause`).
    struct Route: Hashable, Sendable {
        let method: String
        let path: String

        /// The path as OpenAPI writes it: `/schedules/{queue}/{task}/pause`.
        var openAPIPath: String {
            "/" + path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
        }

        /// The names of its path parameters, in order.
        var parameters: [String] {
            path.split(separator: "/").filter { $0.hasPrefix(":") }.map { String($0.dropFirst()) }
        }
    }

    private let recorded = Mutex<[Route]>([])

    func record(_ route: Route) {
        recorded.withLock { if !$0.contains(route) { $0.append(route) } }
    }

    var routes: [Route] { recorded.withLock { $0 } }
}

/// A router (or a group of one) whose `get` and `post` record each route in a `RouteBook` as
/// they register it.
struct DocumentedRouter<Router: RouterMethods> {
    let router: Router
    let book: RouteBook

    func get(_ path: String, use handler: @Sendable @escaping (Request, Router.Context) async throws -> some ResponseGenerator) {
        book.record(.init(method: "get", path: path))
        router.get(RouterPath(path), use: handler)
    }

    func post(_ path: String, use handler: @Sendable @escaping (Request, Router.Context) async throws -> some ResponseGenerator) {
        book.record(.init(method: "post", path: path))
        router.post(RouterPath(path), use: handler)
    }
}
