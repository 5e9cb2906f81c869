import Synchronization

/// Why the host stops a run before it ends by itself.
enum StopReason: Sendable, Equatable {
    /// A user cancelled the job.
    case cancelled
    /// The task's timeout passed.
    case timedOut(seconds: Double)
    /// The host is stopping and its grace period is over: the job goes back to the queue.
    case shutdown
}

/// The jobs this host runs now, with a handle to stop each.
final class RunningJobs: Sendable {
    private struct Entry {
        var task: Task<Void, Never>?
        var stop: StopReason?
    }

    private let entries = Mutex([String: Entry]())

    func insert(_ id: String) {
        entries.withLock { $0[id] = Entry() }
    }

    /// Links the task that runs job `id`; a stop asked for before it was linked applies now.
    func attach(_ id: String, task: Task<Void, Never>) {
        let stopNow = entries.withLock { entries -> Bool in
            entries[id]?.task = task
            return entries[id]?.stop != nil
        }
        if stopNow { task.cancel() }
    }

    func remove(_ id: String) {
        entries.withLock { _ = $0.removeValue(forKey: id) }
    }

    /// Stops a run; the first reason given wins. Returns false if the job is not running here.
    @discardableResult
    func stop(_ id: String, reason: StopReason) -> Bool {
        let task: Task<Void, Never>?? = entries.withLock { entries in
            guard entries[id] != nil else { return nil }
            if entries[id]?.stop == nil { entries[id]?.stop = reason }
            return .some(entries[id]?.task)
        }
        guard let task else { return false }
        task?.cancel()
        return true
    }

    func stopAll(reason: StopReason) {
        for id in snapshot() { stop(id, reason: reason) }
    }

    func reason(_ id: String) -> StopReason? {
        entries.withLock { $0[id]?.stop }
    }

    func snapshot() -> [String] {
        entries.withLock { Array($0.keys) }
    }

    /// Jobs being stopped because a user cancelled them.
    var cancelling: [String] {
        entries.withLock { entries in entries.filter { $0.value.stop == .cancelled }.map(\.key) }
    }

    var isEmpty: Bool {
        entries.withLock { $0.isEmpty }
    }
}
