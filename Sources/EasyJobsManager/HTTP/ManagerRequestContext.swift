import EasyJobsCore
import Hummingbird
import NIOCore

/// The request context of the manager's routes: Hummingbird's basics plus the connection, so a
/// long poll can tell when its client has gone.
struct ManagerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    /// The host whose session token the request carried (host endpoints only).
    var hostID: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Refuses a host request whose body speaks for another host than its session.
    func requireHost(_ claimed: String) throws(EasyJobsError) {
        guard let hostID, hostID == claimed else {
            throw EasyJobsError(
                .forbidden, "this session belongs to host '\(hostID ?? "none")', not '\(claimed)'", context: ["host_id": claimed])
        }
    }
}
