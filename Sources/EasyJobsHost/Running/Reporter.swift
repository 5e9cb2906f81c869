import EasyJobsClient
import EasyJobsCore
import Logging
import Synchronization

/// Sends finished runs to the manager, batching whatever accumulated while the last request
/// was in flight, and keeps them until the manager has them: a host that loses the manager
/// keeps its results and delivers them when it comes back.
final class Reporter: Sendable {
    private struct State {
        var pending: [JobReport] = []
        var waiter: CheckedContinuation<Void, Never>?
        var finishing = false
        var finishRequested: ContinuousClock.Instant?
    }
    private let state = Mutex(State())
    private let client: ManagerClient
    private let hostID: String
    private let logger: Logger
    private let maxBatch = 512

    init(client: ManagerClient, hostID: String, logger: Logger) {
        self.client = client
        self.hostID = hostID
        self.logger = logger
    }

    func add(_ report: JobReport) {
        state.withLock { state in
            state.pending.append(report)
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }?.resume()
    }

    /// Asks `run` to return once everything pending is delivered.
    func finish() {
        state.withLock { state in
            state.finishing = true
            state.finishRequested = .now
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }?.resume()
    }

    /// Delivers reports until `finish` was called and nothing is pending, or the task is cancelled.
    /// After `finish`, it gives up on a manager that stays away for `shutdownGrace` seconds: those
    /// jobs run again elsewhere once their leases run out.
    func run(maxDelay: Double, shutdownGrace: Double = 10) async {
        var delay = 0.05
        while !Task.isCancelled {
            let batch: [JobReport]? = await nextBatch()
            guard let batch else { return }
            do {
                let response = try await client.report(ReportRequest(hostID: hostID, reports: batch))
                for id in response.rejected {
                    logger.warning("manager refused the result: the job's lease ran out and it was handed back", metadata: ["job_id": "\(id)"])
                }
                delay = 0.05
            } catch {
                let givingUp = state.withLock { state -> Bool in
                    state.pending.insert(contentsOf: batch, at: 0)
                    guard let requested = state.finishRequested else { return false }
                    return ContinuousClock.now - requested > .milliseconds(Int(shutdownGrace * 1000))
                }
                if givingUp {
                    let lost = state.withLock { $0.pending.count }
                    logger.error("stopping with \(lost) undelivered result(s): the manager is unreachable; those jobs will run again once their leases run out")
                    return
                }
                logger.warning("cannot report \(batch.count) result(s), retrying in \(delay) s: \(error)")
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                delay = min(delay * 2, maxDelay)
            }
        }
    }

    private func nextBatch() async -> [JobReport]? {
        while true {
            enum Next { case batch([JobReport]), done, wait }
            let next: Next = state.withLock { state in
                if !state.pending.isEmpty {
                    let count = min(state.pending.count, maxBatch)
                    let batch = Array(state.pending.prefix(count))
                    state.pending.removeFirst(count)
                    return .batch(batch)
                }
                return state.finishing ? .done : .wait
            }
            switch next {
            case .batch(let batch): return batch
            case .done: return nil
            case .wait:
                if Task.isCancelled { return nil }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = state.withLock { state -> Bool in
                            if !state.pending.isEmpty || state.finishing { return true }
                            state.waiter = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    state.withLock { state in
                        let waiter = state.waiter
                        state.waiter = nil
                        return waiter
                    }?.resume()
                }
            }
        }
    }
}
