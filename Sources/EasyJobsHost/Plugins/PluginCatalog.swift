import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The plugins a host serves now, by file, and the versions they replaced.
///
/// A job runs on the version that is current when it starts; versions replaced or removed
/// stay reachable (never unloaded: see `DynamicLibraryLoader`) so that a job claimed just
/// before a swap still finds its task.
public final class PluginCatalog: Sendable {
    private struct State {
        var current: [String: LoadedPlugin] = [:]
        var previous: [String: [LoadedPlugin]] = [:]
        var refused: [String: RefusedPlugin] = [:]
        /// What ``plugin(serving:)`` found, until the next install or removal: every job asks
        /// (twice), and the search sorts the files.
        var serving: [String: LoadedPlugin] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// The plugin that serves `task`: a current version first, then the latest replaced one.
    public func plugin(serving task: String) -> LoadedPlugin? {
        state.withLock { state in
            if let plugin = state.serving[task] { return plugin }
            let found = Self.search(task, in: state)
            state.serving[task] = found
            return found
        }
    }

    private static func search(_ task: String, in state: State) -> LoadedPlugin? {
        for file in state.current.keys.sorted() where state.current[file]!.hasTask(task) {
            return state.current[file]
        }
        for file in state.previous.keys.sorted() {
            if let plugin = state.previous[file]!.last(where: { $0.hasTask(task) }) { return plugin }
        }
        return nil
    }

    public func current(file: String) -> LoadedPlugin? {
        state.withLock { $0.current[file] }
    }

    /// Makes `plugin` the version of `file`; refuses it when another file already serves one of its tasks.
    public func install(_ plugin: LoadedPlugin, file: String) throws(EasyJobsError) {
        let clash: (String, String)? = state.withLock { state in
            for (other, existing) in state.current where other != file {
                if let task = plugin.info.tasks.first(where: { existing.hasTask($0.name) }) { return (task.name, other) }
            }
            return nil
        }
        if let (task, other) = clash {
            throw EasyJobsError(
                .pluginRefused, "\(file): task '\(task)' is already served by \(other)", context: ["file": file, "task": task])
        }
        state.withLock { state in
            if let old = state.current[file] { state.previous[file, default: []].append(old) }
            state.current[file] = plugin
            state.refused[file] = nil
            state.serving.removeAll()
        }
    }

    public func refuse(file: String, reason: String) {
        state.withLock { $0.refused[file] = RefusedPlugin(file: file, reason: reason) }
    }

    /// Stops offering `file`'s tasks to new work.
    @discardableResult
    public func remove(file: String) -> LoadedPlugin? {
        state.withLock { state in
            state.refused[file] = nil
            guard let old = state.current.removeValue(forKey: file) else { return nil }
            state.previous[file, default: []].append(old)
            state.serving.removeAll()
            return old
        }
    }

    public var plugins: [LoadedPlugin] {
        state.withLock { state in state.current.keys.sorted().map { state.current[$0]! } }
    }

    public var refused: [RefusedPlugin] {
        state.withLock { state in state.refused.keys.sorted().map { state.refused[$0]! } }
    }
}
