import Hummingbird
import NIOCore

/// The request context of the manager's routes: Hummingbird's basics plus the connection, so a
/// long poll can tell when its client has gone.
struct ManagerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
