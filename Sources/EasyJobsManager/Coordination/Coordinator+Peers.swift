import EasyJobsCore
import EasyJobsStore
import Foundation

/// What other managers sharing the store changed: registrations, last-seen times and pauses.
extension Coordinator {
    /// Brings the copies of hosts and pauses up to date with the store. Registrations that fail
    /// today's checks are left out, as at start.
    public func refreshFromStore() async throws {
        let stored = try await store.hosts()
        let fresh = registry.merge(
            stored: stored.filter { host in
                // Only what is new to this manager needs the check; the rest passed it before.
                if let known = registry.host(id: host.id), !host.isRegistered(after: known) { return true }
                return Self.passesChecks(host)
            })
        for queue in Set(fresh.flatMap { $0.queues.map(\.name) }) { notifier.workArrived(in: queue) }
        let changes = pauses.changeCount
        pauses.replace(with: try await store.paused(), readAfter: changes)
    }

    /// Looks up one host in the store (it registered with another manager); true when known now.
    func learnHost(id: String) async throws -> Bool {
        guard let stored = try await store.host(id: id), Self.passesChecks(stored) else { return false }
        registry.merge(stored: [stored])
        return registry.host(id: id) != nil
    }

    static func passesChecks(_ host: HostRecord) -> Bool { registrationProblem(host) == nil }

    /// Why a stored registration fails today's checks (one stored before a limit existed), if it does.
    static func registrationProblem(_ host: HostRecord) -> String? {
        do throws(EasyJobsError) {
            try RegistrationCheck.validate(
                HostRegistration(
                    hostID: host.id, name: host.name, queues: host.queues, maxTasks: host.maxTasks, plugins: host.plugins, refused: host.refused))
            return nil
        } catch {
            return error.message
        }
    }
}
