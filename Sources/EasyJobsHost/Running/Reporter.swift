import EasyJobsClient
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

/// Sends finished runs to the manager, batching whatever accumulated while the last request
/// was in flight, and keeps them until the manager has them: a host that loses the manager
/// keeps its results and delivers them when it comes back.
final class Reporter: Sendable {
    private struct State: Sendable {
        var pending: [JobReport] = []
        var finishing = false
        var finishRequested: ContinuousClock.Instant?
    }
    private let state = ConditionWaiter<State, Unkeyed>(State())
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
        state.update { $0.pending.append(report) }
    }

    /// Asks `run` to return once everything pending is delivered.
    func finish() {
        state.update { state in
            state.finishing = true
            state.finishRequested = .now
        }
    }

    /// Delivers reports until `finish` was called and nothing is pending, or the task is cancelled.
    /// After `finish`, it gives up on a manager that stays away for `shutdownGrace`: those
    /// jobs run again elsewhere once their leases run out.
    func run(maxDelay: Duration, shutdownGrace: Duration = .seconds(10)) async {
        var backoff = Backoff(initial: .milliseconds(50), maximum: maxDelay)
        while !Task.isCancelled {
            let batch: [JobReport]? = await nextBatch()
            guard let batch else { return }
            do {
                let response = try await client.report(ReportRequest(hostID: hostID, reports: batch))
                for id in response.rejected {
                    logger.warning("manager refused the result: this run no longer holds the job's lease", metadata: ["job_id": "\(id)"])
                }
                backoff.reset()
            } catch let error as EasyJobsError where error.isRefusal {
                // Sending the same bytes again cannot succeed: find the reports it refuses and fail those jobs.
                await deliverOneByOne(batch, refusal: error)
            } catch {
                let givingUp = state.withLock { state -> Bool in
                    state.pending.insert(contentsOf: batch, at: 0)
                    guard let requested = state.finishRequested else { return false }
                    return ContinuousClock.now - requested > shutdownGrace
                }
                if givingUp {
                    let lost = state.withLock { $0.pending.count }
                    logger.error(
                        "stopping with \(lost) undelivered result(s): the manager is unreachable; those jobs will run again once their leases run out"
                    )
                    return
                }
                let delay = backoff.next()
                logger.warning("cannot report \(batch.count) result(s), retrying in \(delay.secondsText) s: \(error)")
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Sends a refused batch report by report; a report the manager refuses becomes a failure
    /// that says why, and a failure it refuses too is dropped with an error, never retried forever.
    private func deliverOneByOne(_ batch: [JobReport], refusal batchRefusal: EasyJobsError) async {
        for report in batch {
            var refusal = batchRefusal
            if batch.count > 1 {
                do {
                    _ = try await client.report(ReportRequest(hostID: hostID, reports: [report]))
                    continue
                } catch let error as EasyJobsError where error.isRefusal {
                    refusal = error
                } catch {
                    // The manager went away meanwhile: keep the report for the normal retry.
                    state.withLock { $0.pending.append(report) }
                    continue
                }
            }
            let failed = JobReport(
                jobID: report.jobID, lease: report.lease, outcome: .failed("the manager refused the job's result: \(refusal.message)"),
                plugin: report.plugin)
            do {
                _ = try await client.report(ReportRequest(hostID: hostID, reports: [failed]))
                logger.error(
                    "the manager refused a job's result; reported the job failed instead",
                    metadata: ["job_id": "\(report.jobID)", "reason": "\(refusal.message)"])
            } catch let error as EasyJobsError where error.isRefusal {
                logger.error(
                    "the manager refused a job's report; dropping it", metadata: ["job_id": "\(report.jobID)", "reason": "\(error.message)"])
            } catch {
                state.withLock { $0.pending.append(failed) }
            }
        }
    }

    /// The next batch to send (the oldest `maxBatch` pending), or `nil` once `finish` was called
    /// and nothing is pending, or the task is cancelled.
    private func nextBatch() async -> [JobReport]? {
        enum Next: Sendable {
            case batch([JobReport])
            case done
        }
        let next = await state.wait { state -> Next? in
            if !state.pending.isEmpty {
                let count = min(state.pending.count, maxBatch)
                defer { state.pending.removeFirst(count) }
                return .batch(Array(state.pending.prefix(count)))
            }
            return state.finishing ? .done : nil
        }
        guard case .batch(let batch) = next else { return nil }
        return batch
    }
}
