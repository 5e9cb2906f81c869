import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// Idle `run-task` children, started ahead of their jobs, for each loaded plugin version that
/// has subprocess tasks.
///
/// Starting a child costs tens of milliseconds (the Swift runtime, Foundation, the plugin's
/// `dlopen`, a connection to the manager), more than the rest of a short job's trip. A pooled
/// child has paid that before its job exists, and still runs one job only, with the same
/// isolation, limits and token as a child started for it: it gets its job and token at
/// hand-off (see `StartedChild`). A child taken is replaced once its job is done
/// (`replenish(for:)`): a start takes a core for tens of milliseconds, which the job itself
/// would otherwise compete with on a small machine.
///
/// Children belong to one version (keyed by its content-addressed copy): a version that is
/// replaced or removed has its idle children ended by pid, and a job only ever goes to a child
/// of the very version it resolved. A child that dies while idle is replaced after a backoff
/// that grows while children keep dying young, so a plugin that crashes as it loads costs a
/// child now and then, not a spawn loop.
final class ChildPool: Sendable {
    /// Idle children kept per plugin version; 0 starts a child for each job instead.
    let size: Int
    let launcher: ChildLauncher
    private let state = Mutex(State())

    /// A child that lived this long before it died idle was not dying young: no backoff builds up.
    private static let healthyLifetime: Duration = .seconds(10)

    private struct State {
        /// By the path of the version's content-addressed copy.
        var versions: [String: Version] = [:]
        var closed = false
    }

    private struct Version {
        var plugin: LoadedPlugin
        var idle: [StartedChild] = []
        /// The wait before replacing a child that died idle: it grows while children keep dying young.
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
        /// No child is started before this, after children died young.
        var notBefore: ContinuousClock.Instant?
    }

    init(size: Int, launcher: ChildLauncher) {
        self.size = max(0, size)
        self.launcher = launcher
    }

    /// An idle child of exactly `plugin`'s version, if there is one.
    func take(for plugin: LoadedPlugin) -> StartedChild? {
        guard size > 0 else { return nil }
        let key = plugin.copy.path
        let child: StartedChild? = state.withLock { state in
            guard let idle = state.versions[key]?.idle, !idle.isEmpty else { return nil }
            // The oldest: the likeliest to have loaded its plugin already.
            let child = state.versions[key]!.idle.removeFirst()
            state.versions[key]!.backoff.reset()
            return child
        }
        return child
    }

    /// Starts what `plugin`'s version lacks of its idle children, now that a job of it ended.
    func replenish(for plugin: LoadedPlugin) {
        guard size > 0 else { return }
        refill(plugin.copy.path)
    }

    /// Keeps children for exactly these versions (those of them with subprocess tasks): the
    /// idle children of any other version are ended, missing ones are started.
    func keep(_ plugins: [LoadedPlugin]) {
        guard size > 0 else { return }
        var wanted: [String: LoadedPlugin] = [:]
        for plugin in plugins where plugin.info.tasks.contains(where: { $0.options.subprocess }) {
            wanted[plugin.copy.path] = plugin
        }
        let retired: [StartedChild] = state.withLock { state in
            guard !state.closed else { return [] }
            var retired: [StartedChild] = []
            for (key, version) in state.versions where wanted[key] == nil {
                retired += version.idle
                state.versions[key] = nil
            }
            for (key, plugin) in wanted where state.versions[key] == nil {
                state.versions[key] = Version(plugin: plugin)
            }
            return retired
        }
        for child in retired { child.retire() }
        for key in wanted.keys { refill(key) }
    }

    /// Ends every idle child and starts no more; returns once they have exited. Called when
    /// the host stops (or recycles), so that no child outlives it or its plugins.
    func shutdown() async {
        let idle: [StartedChild] = state.withLock { state in
            state.closed = true
            defer { state.versions = [:] }
            return state.versions.values.flatMap(\.idle)
        }
        for child in idle { child.retire() }
        for child in idle { _ = await child.ended() }
        if !idle.isEmpty { launcher.logger.debug("ended \(idle.count) idle subprocess child(ren)") }
    }

    /// Starts children until the version has `size` idle ones, unless it waits out a backoff.
    private func refill(_ key: String) {
        let (plugin, missing): (LoadedPlugin?, Int) = state.withLock { state in
            guard !state.closed, let version = state.versions[key] else { return (nil, 0) }
            if let notBefore = version.notBefore, ContinuousClock.now < notBefore { return (nil, 0) }
            return (version.plugin, size - version.idle.count)
        }
        guard let plugin, missing > 0 else { return }
        let started = (0..<missing).map { _ in
            launcher.start(plugin) { [self] child, end in ended(child, end, key: key) }
        }
        let surplus: [StartedChild] = state.withLock { state in
            guard !state.closed, state.versions[key] != nil else { return started }
            let room = max(0, size - state.versions[key]!.idle.count)
            state.versions[key]!.idle += started.prefix(room)
            return Array(started.dropFirst(room))
        }
        // Another refill ran alongside, or the version went meanwhile.
        for child in surplus { child.retire() }
    }

    /// A child's process ended: if it was still idle here, it died waiting, and is replaced.
    private func ended(_ child: StartedChild, _ end: StartedChild.End, key: String) {
        let delay: Duration? = state.withLock { state in
            guard !state.closed, var version = state.versions[key], let index = version.idle.firstIndex(where: { $0 === child }) else {
                return nil
            }
            version.idle.remove(at: index)
            if ContinuousClock.now - child.started >= Self.healthyLifetime { version.backoff.reset() }
            let delay = version.backoff.next()
            version.notBefore = .now + delay
            state.versions[key] = version
            return delay
        }
        guard let delay else { return }
        let status: String =
            switch end {
            case .exited(.exited(let code)): "exited with status \(code)"
            case .exited(.signaled(let signal)): "was killed by \(SubprocessRunner.signalName(signal))"
            case .failed(let error): "could not be started: \(error)"
            }
        let tail = child.idleStderr
        launcher.logger.warning(
            "an idle subprocess child \(status); starting another in \(delay.secondsText) s\(tail.isEmpty ? "" : "\n" + tail)",
            metadata: ["plugin": "\(child.plugin.info.name)@\(child.plugin.info.version)", "file": "\(child.plugin.file.lastPathComponent)"])
        Task {
            try? await Task.sleep(for: delay)
            self.refill(key)
        }
    }
}
