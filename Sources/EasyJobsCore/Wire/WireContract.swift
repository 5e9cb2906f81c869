/// The parts of the HTTP contract that client, host and manager must spell alike: its headers,
/// the host protocol's paths and the actions of the control paths. Both sides build their
/// requests and routes from these, so a rename cannot leave one side behind.
public enum WireContract {
    /// The request headers of the contract.
    public enum Header {
        /// The shared secret of the host endpoints.
        public static let secret = "X-EasyJobs-Secret"
        /// A host's session token, issued at registration.
        public static let session = "X-EasyJobs-Session"
        /// A subprocess child's job token: it may report that one run and nothing else.
        public static let jobToken = "X-EasyJobs-Job-Token"
    }

    /// The host protocol's endpoints (docs/host-protocol.md), under `/hosts`.
    public enum HostEndpoint: String, Sendable, CaseIterable {
        case register, claim, report, unregister, call, await, events, logs, release, heartbeat, progress

        /// The group the host endpoints share (and its secret check).
        public static let group = "hosts"
        /// The full path a client sends to: `/hosts/claim`.
        public var path: String { "/\(Self.group)/\(rawValue)" }
        /// The path within the group, as the manager routes it: `/claim`.
        public var route: String { "/\(rawValue)" }
    }

    /// The last component of `/schedules/{queue}/{task}/{action}`.
    public enum ScheduleAction: String, Sendable, CaseIterable {
        case pause, resume, trigger
    }

    /// The last component of `/control/{hosts|queues}/{name}/{action}`.
    public enum PauseAction: String, Sendable, CaseIterable {
        case pause, resume

        public init(pausing: Bool) { self = pausing ? .pause : .resume }
        /// Whether the action pauses (else it resumes).
        public var pauses: Bool { self == .pause }
    }
}

/// What a pause applies to.
public enum PauseKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// A host, by name: every process registered under that name.
    case host
    /// A queue: every host serving it.
    case queue

    /// Its component of the control paths: `/control/hosts/…`, `/control/queues/…`.
    public var pathComponent: String { rawValue + "s" }
}
