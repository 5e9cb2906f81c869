import EasyJobsCore
import EasyJobsStore
import Foundation
import Synchronization

/// The tasks each queue offers, as registered by hosts; read on every enqueue.
///
/// Kept in memory and rebuilt from the store's hosts at start, so a manager that restarts
/// keeps accepting jobs for known tasks before its hosts reconnect.
public final class TaskRegistry: Sendable {
    private struct State {
        var hosts: [String: HostRecord] = [:]
        /// queue → task → spec, from the most recently registered host offering it.
        var tasks: [String: [String: TaskSpec]] = [:]
        /// Hosts that said goodbye; a new registration clears it.
        var leaving: Set<String> = []
        /// queue → task → what is wrong with how it refers to other tasks.
        var problems: [String: [String: [String]]] = [:]
    }

    private let state = Mutex(State())

    public init(hosts: [HostRecord] = []) {
        state.withLock { state in
            for host in hosts.sorted(by: { $0.registeredAt < $1.registeredAt }) {
                Self.add(host, to: &state)
            }
        }
    }

    public func register(_ host: HostRecord) {
        state.withLock { state in
            state.leaving.remove(host.id)
            Self.add(host, to: &state)
        }
    }

    /// Takes in registrations and last-seen times another manager stored: a registration newer
    /// than the one known replaces it (and ends a goodbye seen here); an older or equal one only
    /// moves the last-seen time forward. Returns the hosts that were new or re-registered.
    @discardableResult
    public func merge(stored hosts: [HostRecord]) -> [HostRecord] {
        state.withLock { state in
            var changed: [HostRecord] = []
            for host in hosts {
                guard let known = state.hosts[host.id], !host.isRegistered(after: known) else {
                    state.leaving.remove(host.id)
                    Self.add(host, to: &state)
                    changed.append(host)
                    continue
                }
                if host.lastSeen > known.lastSeen { state.hosts[host.id]?.lastSeen = host.lastSeen }
            }
            return changed
        }
    }

    public func markLeaving(hostID: String) {
        state.withLock { state in
            state.leaving.insert(hostID)
            for queue in state.hosts[hostID]?.queues ?? [] { Self.recomputeProblems(queue: queue.name, in: &state) }
        }
    }

    /// Whether a host that is not leaving, and was seen since `onlineSince`, offers `task` in `queue`.
    public func isServed(queue: String, task: String, onlineSince: Date) -> Bool {
        state.withLock { state in
            state.hosts.values.contains { host in
                host.serves(queue) && host.lastSeen >= onlineSince && !state.leaving.contains(host.id)
                    && host.plugins.contains { $0.tasks.contains { $0.name == task } }
            }
        }
    }

    public func isLeaving(hostID: String) -> Bool {
        state.withLock { $0.leaving.contains(hostID) }
    }

    public func host(id: String) -> HostRecord? {
        state.withLock { $0.hosts[id] }
    }

    public func touch(hostID: String, at date: Date) {
        state.withLock { $0.hosts[hostID]?.lastSeen = date }
    }

    public var hosts: [HostRecord] {
        state.withLock { Array($0.hosts.values) }
    }

    /// Task → problems of `queue`'s pipelines, found when its tasks were registered.
    public func problems(queue: String) -> [String: [String]] {
        state.withLock { $0.problems[queue] ?? [:] }
    }

    public var queues: [String: [TaskSpec]] {
        state.withLock { $0.tasks.mapValues { Array($0.values).sorted { $0.name < $1.name } } }
    }

    /// The spec of `task` in `queue`, or an error naming what is known.
    public func spec(queue: String, task: String) throws(EasyJobsError) -> TaskSpec {
        // Every enqueue and claim asks: the known queues are listed only for the error.
        if let spec = state.withLock({ $0.tasks[queue]?[task] }) { return spec }
        let (tasks, known): ([String: TaskSpec]?, [String]) = state.withLock { state in
            (state.tasks[queue], state.tasks.keys.sorted())
        }
        guard let tasks else {
            throw EasyJobsError(
                .unknownQueue,
                "unknown queue '\(queue)': no host has registered it"
                    + (known.isEmpty ? " (no queue is registered yet)" : " (registered queues: \(known.joined(separator: ", ")))"),
                context: ["queue": queue])
        }
        guard let spec = tasks[task] else {
            throw EasyJobsError(
                .unknownTask,
                "unknown task '\(task)' in queue '\(queue)' (its tasks: \(tasks.keys.sorted().joined(separator: ", ")))",
                context: ["queue": queue, "task": task])
        }
        return spec
    }

    /// The specs of `queue`'s tasks, by name (empty for a queue no host registered), read at once.
    public func specs(queue: String) -> [String: TaskSpec] {
        state.withLock { $0.tasks[queue] ?? [:] }
    }

    /// Tasks stay known after their hosts stop serving them, so queued jobs keep their
    /// signature; pipeline problems are computed from what is served.
    private static func add(_ host: HostRecord, to state: inout State) {
        state.hosts[host.id] = host
        for queue in host.queues {
            for plugin in host.plugins {
                for task in plugin.tasks {
                    state.tasks[queue.name, default: [:]][task.name] = task
                }
            }
            recomputeProblems(queue: queue.name, in: &state)
        }
    }

    private static func recomputeProblems(queue: String, in state: inout State) {
        var served: [String: TaskSpec] = [:]
        for host in state.hosts.values where host.serves(queue) && !state.leaving.contains(host.id) {
            for task in host.plugins.flatMap(\.tasks) { served[task.name] = task }
        }
        state.problems[queue] = PipelineValidation.problems(in: Array(served.values))
    }
}
