import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging
import ServiceLifecycle

/// Keeps this manager's copies (hosts and their tasks, pauses) in step with the store, which
/// other managers change too, and wakes waiting requests on what they did.
///
/// Several managers behind one load balancer see one host's requests spread over all of them: a
/// host registers with one, heartbeats with another and claims from a third. Each copy is
/// refreshed every ``ManagerOptions/peerSyncInterval``; a store with events
/// (``StoreEventSource``) also refreshes and wakes at once.
struct PeerSync: Service {
    let coordinator: Coordinator
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await withDiscardingTaskGroup { group in
            if let source = coordinator.store as? any StoreEventSource {
                group.addTask { await listen(to: source) }
            }
            group.addTask { await refreshPeriodically() }
            // Stops both: the event stream ends when its consumer is cancelled.
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    private func refreshPeriodically() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await refresh()
        }
    }

    private func refresh() async {
        do {
            try await coordinator.refreshFromStore()
        } catch is CancellationError {
            // Shutting down.
        } catch {
            if !Task.isCancelled { logger.warning("could not refresh hosts and pauses from the store: \(error)") }
        }
    }

    private func listen(to source: any StoreEventSource) async {
        for await event in source.events() {
            switch event {
            case .workArrived(let queue): coordinator.notifier.workArrived(in: queue)
            case .jobFinished(let id): coordinator.notifier.jobFinished(id)
            case .cancelRequested(let hostID): coordinator.notifier.workArrived(in: Coordinator.eventsKey(hostID))
            case .hostsChanged, .pausesChanged: await refresh()
            }
        }
    }
}
