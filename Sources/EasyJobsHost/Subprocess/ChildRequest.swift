import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// What a host tells a `run-task` child before it has any job: which plugin copy to open and
/// where to report. Written on the child's standard input as its first line, when it starts;
/// it carries no token, so a child waiting in the pool holds nothing it could act with.
/// (Nothing goes in the child's arguments or environment, which other users can read.)
struct ChildSetup: Codable, Sendable {
    var manager: String
    /// The content-addressed copy the host loaded: the child runs the very same version.
    var plugin: String
    /// SHA-256 of that copy: the child refuses to open a file that is not exactly it.
    var sha256: String
    /// The manager's lease, in seconds: a child whose host stays stopped (SIGSTOP, a debugger)
    /// for half of it stops itself, since its host can no longer renew the lease.
    var leaseSeconds: Double
    /// The host's pid: the child exits when it is no longer its parent.
    var parentPID: Int32
}

/// The one job a child runs, written as the second line of its standard input at hand-off,
/// after which the host closes that input: a child never gets a second job, and only this
/// part holds the token that lets it report.
struct ChildJob: Codable, Sendable {
    /// Lets the child report this one job, and nothing else.
    var token: String
    var jobID: String
    /// The run's lease number: its report names it, as a host's does.
    var lease: Int
    var task: String
    var args: [String: JSONValue]
    var context: JSONValue
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
    /// Its host closed its input before handing it a job: it was not needed.
    case released = 8
}

/// The name (`/proc/PID/comm`) a child takes once it has its job, so that `ps` and the
/// tests tell a child running a job from one waiting in the pool (`easyjobs`).
enum ChildProcessName {
    static let running = "easyjobs-job"
}
