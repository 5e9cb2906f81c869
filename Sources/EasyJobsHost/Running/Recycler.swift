#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Decides when the host must replace itself: a Swift plugin can never be unloaded, so every
/// reload keeps a little memory for good. After `maxReloads` reloads, or above `maxRSSMB`, the
/// host stops claiming, lets its jobs finish and executes itself again, keeping its identity.
final class Recycler: Sendable {
    private struct State {
        var reloads = 0
        var requested = false
        var interrupts: [UInt64: @Sendable () -> Void] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())
    let maxReloads: Int
    let maxRSSMB: Int

    init(maxReloads: Int, maxRSSMB: Int) {
        self.maxReloads = maxReloads
        self.maxRSSMB = maxRSSMB
    }

    var isRequested: Bool { state.withLock { $0.requested } }

    /// Counts a reload; returns why the host should recycle now, if it should.
    func reloaded() -> String? {
        let reloads = state.withLock { state -> Int in
            state.reloads += 1
            return state.reloads
        }
        if maxReloads > 0 && reloads >= maxReloads { return "\(reloads) reloads (limit \(maxReloads))" }
        if maxRSSMB > 0, let rss = Self.residentMB(), rss > Double(maxRSSMB) {
            return "resident memory \(Int(rss.rounded())) MiB (limit \(maxRSSMB) MiB)"
        }
        return nil
    }

    /// Asks the claim loop to stop: interrupts its pending claim.
    func request() {
        let interrupts = state.withLock { state in
            state.requested = true
            return Array(state.interrupts.values)
        }
        for interrupt in interrupts { interrupt() }
    }

    /// Runs `operation`, cancelled as soon as a recycle is requested.
    func interruptible<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await operation() }
        let id = state.withLock { state -> UInt64? in
            guard !state.requested else { return nil }
            state.nextID += 1
            state.interrupts[state.nextID] = { task.cancel() }
            return state.nextID
        }
        if id == nil { task.cancel() }
        defer { if let id { _ = state.withLock { $0.interrupts.removeValue(forKey: id) } } }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    /// Carry a host's identity into the process that replaces it.
    static let hostIDVariable = "EASYJOBS_HOST_ID"
    static let sessionVariable = "EASYJOBS_HOST_SESSION"

    /// Replaces this process with a fresh run of the same command; only returns if that fails.
    func execute(hostID: String, session: String?) -> Int32 {
        Self.closeOnExec()
        setenv(Self.hostIDVariable, hostID, 1)
        if let session { setenv(Self.sessionVariable, session, 1) }
        let executable = HostExecutable.current
        var arguments = CommandLine.arguments.map { strdup($0) }
        arguments.append(nil)
        execv(executable, arguments)
        return errno
    }

    /// Marks every descriptor but the standard three close-on-exec. Sockets are opened without
    /// it, and an inherited one keeps the old process's long poll open on the manager, which
    /// then claims jobs for a connection nobody reads (they wait a whole lease to come back).
    static func closeOnExec() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for entry in entries {
            guard let fd = Int32(entry), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    static func residentMB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kib / 1024
    }
}
