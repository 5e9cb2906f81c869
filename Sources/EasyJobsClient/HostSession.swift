import EasyJobsCore
import Synchronization

/// The session token a host holds: issued by the manager at registration, sent on every other
/// host endpoint. Shared by all copies of a ``ManagerClient``, so a registration renews it for
/// every task of the host at once.
public final class HostSession: Sendable {

    private let value: Mutex<String?>

    /// `token`: one issued earlier, for a process that continues a host (a recycled host).
    public init(token: String? = nil) {
        value = Mutex(token)
    }

    public var token: String? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

extension EasyJobsError {
    /// A 4xx answer that sending the same request again cannot change: bad input, too large.
    /// (A missing session or an unknown host is not one: registering again fixes those.)
    public var isRefusal: Bool {
        guard let status = context["http_status"].flatMap(Int.init) else { return false }
        return [400, 413, 422].contains(status)
    }
}
