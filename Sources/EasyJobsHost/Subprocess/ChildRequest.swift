import EasyJobsCore
import Foundation

/// What a host tells the child that runs one subprocess job, on the child's standard input
/// (never in its arguments or environment, which other users can read).
struct ChildRequest: Codable, Sendable {
    var manager: String
    /// Lets the child report this one job, and nothing else.
    var token: String
    var jobID: String
    var task: String
    /// The content-addressed copy the host loaded: the child runs the very same version.
    var plugin: String
    /// SHA-256 of that copy: the child refuses to open a file that is not exactly it.
    var sha256: String
    /// The manager's lease, in seconds: a child whose host stays stopped (SIGSTOP, a debugger)
    /// for half of it stops itself, since its host can no longer renew the lease.
    var leaseSeconds: Double
    var args: [String: JSONValue]
    var context: JSONValue
    /// The host's pid: the child exits when it is no longer its parent.
    var parentPID: Int32
    var memoryLimitMB: Int?
    var cpuLimitSeconds: Int?
}

/// How a child ends, as its exit status tells the host.
enum ChildExit: Int32 {
    /// The outcome reached the manager.
    case reported = 0
    case badRequest = 2
    case pluginUnavailable = 3
    /// The manager refused the report: the run ended meanwhile (cancelled, lease lost).
    case reportRefused = 4
    case managerUnreachable = 5
    /// The host that started it is gone.
    case orphaned = 6
    /// Its host was stopped past the point where the lease may lapse: the job may run elsewhere.
    case hostStopped = 7
}
