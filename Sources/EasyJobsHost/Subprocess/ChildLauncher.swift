import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Starts `run-task` children for plugin versions: what every child of a host shares.
struct ChildLauncher: Sendable {
    /// The `easyjobs` executable, whose hidden `run-task` command is the child.
    let executable: String
    let manager: String
    /// Time between SIGTERM and SIGKILL when a child must stop.
    let killGrace: Duration
    /// How long a child may take to exit once the runtime said it crashed (`HostOptions.crashReportGrace`).
    let crashReportGrace: Duration
    /// The manager's lease: a child whose host is stopped for long stops itself (see `TaskChild`).
    let leaseSeconds: Double
    let logger: Logger

    /// Starts a child for `plugin` and returns at once: the child loads the plugin and waits for
    /// the job `StartedChild.run(_:onLine:)` hands it. `onEnd` learns how the process ended.
    func start(_ plugin: LoadedPlugin, onEnd: @escaping @Sendable (StartedChild, StartedChild.End) -> Void = { _, _ in }) -> StartedChild {
        // Writing a job to a child that has just died must be an error to handle, not the host's death.
        _ = Self.ignoreBrokenPipes
        let child = StartedChild(plugin: plugin, crashReportGrace: crashReportGrace, logger: logger)
        let setup = ChildSetup(
            manager: manager, plugin: plugin.copy.path, sha256: plugin.info.sha256, leaseSeconds: leaseSeconds, parentPID: getpid())
        // Started and watched from the spawn thread: see `SpawnThread`.
        let task = Task(executorPreference: SpawnThread.shared) { [self] in
            let end = await child.live(self, setup: setup)
            onEnd(child, end)
        }
        child.adopt(task)
        return child
    }

    private static let ignoreBrokenPipes: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()
}
