import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// How a host runs. Every field has a documented default; the CLI maps flags and
/// `EASYJOBS_*` environment variables onto it.
public struct HostOptions: Sendable {
    /// The manager's base URL. Default `http://127.0.0.1:8220`.
    public var managerURL: String
    /// The shared secret of the host endpoints. Default none (a loopback manager without a secret).
    public var secret: String?
    /// The directory whose `*.so` files are loaded.
    public var pluginsDirectory: URL
    /// The queues this host serves, with their shares of its claims (``QueueWeight``). Never
    /// empty; default `default` alone.
    public var queues: [QueueWeight]
    /// The first of ``queues``.
    public var queue: String { queues[0].name }
    /// Jobs run at once. Default 5.
    public var maxTasks: Int
    /// Shown in the manager's views. Default `<hostname>-<pid>`.
    public var name: String
    /// The host's own state. Default `./.easyjobs`.
    public var dataDirectory: URL
    /// Where content-addressed copies of plugins go: `<data directory>/plugin-cache`, mode 0700,
    /// since whoever can write it chooses the code the host runs.
    public var cacheDirectory: URL
    /// How long one claim waits on the manager for work. Default 30 s.
    public var claimWait: Duration
    /// Longest pause between reconnection attempts. Default 5 s.
    public var maxReconnectDelay: Duration
    /// On a graceful stop, how long running jobs may go on before they are stopped and handed
    /// back to the queue. Default 30 s.
    public var shutdownGrace: Duration
    /// Between SIGTERM and SIGKILL when a subprocess child must stop. Default 5 s.
    public var killGrace: Duration
    /// How long a subprocess child that the Swift runtime reported crashing (`Fatal error:`,
    /// `Program crashed`) may take to write its backtrace and exit before it is killed. The
    /// crashing process waits for its backtracer, which took over 46 s on a loaded CI machine;
    /// without a bound the job would stay running that long, or for good if it never ends. A
    /// symbolicated backtrace of a debug build takes seconds on a busy machine, hence the margin.
    /// Default ``defaultCrashReportGrace``.
    public var crashReportGrace: Duration
    /// 30 s.
    public static let defaultCrashReportGrace = Duration.seconds(30)
    /// The executable that runs subprocess tasks (`run-task`) and plugin probes
    /// (`describe-plugin`). Default: `easyjobs-host` when installed beside this process's
    /// executable, else this process's own (`HostExecutable.forChildren`).
    public var executable: String
    /// Idle subprocess children kept ready per loaded plugin version that has subprocess tasks:
    /// started, their plugin loaded, waiting for one job each, so a job does not wait for a
    /// process to start. 0 starts a child for each job instead. Default 2.
    public var subprocessPoolSize: Int
    /// Plugin reloads after which the host recycles itself (0: never). Default 100.
    public var recycleAfterReloads: Int
    /// Resident memory, in MiB, above which the host recycles itself after a reload (0: never). Default 1024.
    public var recycleAboveRSSMB: Int

    public init(
        managerURL: String = "http://127.0.0.1:8220",
        secret: String? = nil,
        pluginsDirectory: URL,
        queue: String = "default",
        queues: [QueueWeight] = [],
        maxTasks: Int = 5,
        name: String? = nil,
        dataDirectory: URL = URL(fileURLWithPath: ".easyjobs"),
        cacheDirectory: URL? = nil,
        claimWait: Duration = .seconds(30),
        maxReconnectDelay: Duration = .seconds(5),
        shutdownGrace: Duration = .seconds(30),
        killGrace: Duration = .seconds(5),
        crashReportGrace: Duration = defaultCrashReportGrace,
        executable: String? = nil,
        recycleAfterReloads: Int = 100,
        recycleAboveRSSMB: Int = 1024,
        subprocessPoolSize: Int = 2
    ) {
        self.managerURL = managerURL
        self.secret = secret
        self.pluginsDirectory = pluginsDirectory
        self.queues = queues.isEmpty ? [QueueWeight(name: queue)] : queues
        self.maxTasks = max(1, maxTasks)
        self.name = name ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        self.dataDirectory = dataDirectory
        self.cacheDirectory = cacheDirectory ?? dataDirectory.appendingPathComponent("plugin-cache")
        self.claimWait = claimWait
        self.maxReconnectDelay = maxReconnectDelay
        self.shutdownGrace = shutdownGrace
        self.killGrace = killGrace
        self.crashReportGrace = crashReportGrace
        self.recycleAfterReloads = recycleAfterReloads
        self.recycleAboveRSSMB = recycleAboveRSSMB
        self.subprocessPoolSize = max(0, subprocessPoolSize)
        self.executable = executable ?? HostExecutable.forChildren
    }
}
