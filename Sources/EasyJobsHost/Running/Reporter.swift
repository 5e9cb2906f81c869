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
///
/// A report also claims: the slots of the runs it reports go with it, and the manager answers
/// with jobs for them (a chain's next step, most often), claimed in the transaction that stores
/// the report. Slots the answer does not fill go back to ``Capacity`` for the claim poll. Runs
/// that end while a report is on its way free their slots at once: under load the poll keeps
/// claiming while reports are answered, and a slot never waits for two reports.
final class Reporter: Sendable {
    private struct State: Sendable {
        var pending: [JobReport] = []
        /// Slots of reported runs, held for the next report's claim.
        var slots = 0
        /// A report is on its way: runs that end meanwhile free their slots for the claim poll,
        /// which claims while the report is answered, instead of waiting for the report after it.
        var sending = false
        var finishing = false
        var finishRequested: ContinuousClock.Instant?
    }
    private let state = ConditionWaiter<State, Unkeyed>(State())
    private let client: ManagerClient
    private let hostID: String
    private let capacity: Capacity
    private let handoff: JobHandoff
    private let logger: Logger
    private let maxBatch = 512

    init(client: ManagerClient, hostID: String, capacity: Capacity, handoff: JobHandoff, logger: Logger) {
        self.client = client
        self.hostID = hostID
        self.capacity = capacity
        self.handoff = handoff
        self.logger = logger
    }

    /// Queues the report of a run that ended, with the run's slot: the report claims a job with
    /// it, unless a report is on its way or the host no longer starts jobs, when the slot goes
    /// back to ``Capacity`` at once.
    func add(_ report: JobReport) {
        let kept = state.update { state -> Bool in
            state.pending.append(report)
            guard !state.sending, !state.finishing, handoff.isOpen else { return false }
            state.slots += 1
            return true
        }
        if !kept { capacity.release() }
    }

    /// Asks `run` to return once everything pending is delivered.
    func finish() {
        let held = state.update { state -> Int in
            state.finishing = true
            state.finishRequested = .now
            defer { state.slots = 0 }
            return state.slots
        }
        capacity.release(held)
    }

    /// Delivers reports until `finish` was called and nothing is pending, or the task is cancelled.
    /// After `finish`, it gives up on a manager that stays away for `shutdownGrace`: those
    /// jobs run again elsewhere once their leases run out.
    func run(maxDelay: Duration, shutdownGrace: Duration = .seconds(10)) async {
        var backoff = Backoff(initial: .milliseconds(50), maximum: maxDelay)
        while !Task.isCancelled {
            guard let (batch, heldSlots) = await nextBatch() else { return }
            defer { state.withLock { $0.sending = false } }
            // Claim only while jobs still start here: a host on its way out would hand them back.
            let slots = handoff.isOpen ? heldSlots : 0
            capacity.release(heldSlots - slots)
            do {
                let response = try await client.report(ReportRequest(hostID: hostID, reports: batch, claim: slots))
                // Before its jobs start: a run of one of them that ends at once goes with the next report.
                state.withLock { $0.sending = false }
                for id in response.rejected {
                    logger.warning("manager refused the result: this run no longer holds the job's lease", metadata: ["job_id": "\(id)"])
                }
                backoff.reset()
                await start(response.jobs, slots: slots)
            } catch let error as EasyJobsError where error.isRefusal {
                capacity.release(slots)
                // Sending the same bytes again cannot succeed: find the reports it refuses and fail those jobs.
                await deliverOneByOne(batch, refusal: error)
            } catch {
                capacity.release(slots)
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

    /// Hands the jobs a report claimed to the loop that starts them, in the slots the report
    /// took; slots left over go back. Jobs that come after the host stopped starting jobs go
    /// back to the manager.
    private func start(_ jobs: [ClaimedJob], slots: Int) async {
        capacity.settle(reserved: slots, filled: jobs.count)
        guard !handoff.deliver(jobs) else { return }
        capacity.release(jobs.count)
        logger.info("handing back \(jobs.count) job(s) claimed with a report: this host no longer starts jobs")
        _ = try? await client.release(ReleaseRequest(hostID: hostID, jobs: jobs.map(\.leased)))
    }

    /// The next batch to send (the oldest `maxBatch` pending) with the slots held for it, or
    /// `nil` once `finish` was called and nothing is pending, or the task is cancelled.
    private func nextBatch() async -> ([JobReport], slots: Int)? {
        enum Next: Sendable {
            case batch([JobReport], slots: Int)
            case done
        }
        let next = await state.wait { state -> Next? in
            if !state.pending.isEmpty {
                let count = min(state.pending.count, maxBatch)
                let slots = state.slots
                state.slots = 0
                state.sending = true
                defer { state.pending.removeFirst(count) }
                return .batch(Array(state.pending.prefix(count)), slots: slots)
            }
            return state.finishing ? .done : nil
        }
        guard case .batch(let batch, let slots) = next else { return nil }
        return (batch, slots)
    }
}
