import Synchronization

/// The managers a client may talk to, all serving one shared store: it uses one at a time and
/// moves to the next when that one cannot be reached, so a host or CLI outlives the death of
/// the manager it talked to without a load balancer in front.
///
/// ```swift
/// let endpoints = ManagerEndpoints("http://10.0.0.1:8220,http://10.0.0.2:8220")
/// endpoints.current        // "http://10.0.0.1:8220"
/// endpoints.failed("http://10.0.0.1:8220")
/// endpoints.current        // "http://10.0.0.2:8220"
/// ```
public final class ManagerEndpoints: Sendable {
    /// Base URLs without a trailing slash, in the order given.
    public let all: [String]
    private let index = Mutex(0)

    /// `list`: one base URL, or several separated by commas.
    public init(_ list: String) {
        let urls = list.split(separator: ",").map { $0.trimmingWhitespace }.filter { !$0.isEmpty }
            .map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        all = urls.isEmpty ? [list] : urls
    }

    public var current: String { index.withLock { all[$0] } }

    /// `url` could not be reached: the next request goes to the next manager. Several requests
    /// failing on one manager at once move on only once.
    public func failed(_ url: String) {
        index.withLock { index in
            if all[index] == url { index = (index + 1) % all.count }
        }
    }
}
