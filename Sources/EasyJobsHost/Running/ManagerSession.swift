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
import ServiceLifecycle
import Synchronization

/// What a host keeps up with the manager beside its claims and reports: heartbeats that renew
/// the leases of its running jobs, and the events long poll that brings cancellations.
struct ManagerSession: Sendable {
    let client: ManagerClient
    let hostID: String
    let options: HostOptions
    let registrar: Registrar
    let running: RunningJobs
    let logger: Logger

    func heartbeats(every seconds: Double, lease: Double) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(seconds))
            if Task.isCancelled { return }
            do {
                let sent = ContinuousClock.now
                let response = try await client.heartbeat(HeartbeatRequest(hostID: hostID, running: running.snapshot()))
                running.renewed(response.renewed, until: sent + RunContext.margin(lease: lease))
                for run in response.lost where running.stopLost(run) {
                    logger.warning(
                        "lost the lease of a running job: stopping this run, the manager handed the job back to the queue",
                        metadata: ["job_id": "\(run.jobID)", "lease": "\(run.lease)"])
                }
            } catch let error as EasyJobsError where error.code == .hostNotFound || error.code == .sessionInvalid {
                await registrar.register()
            } catch {
                logger.debug("heartbeat failed: \(error)")
            }
        }
    }

    /// Listens for what the manager asks of this host: running jobs to cancel.
    func listenForEvents() async {
        var backoff = Backoff(initial: .milliseconds(100), maximum: options.maxReconnectDelay)
        while !Task.isCancelled {
            do {
                let events = try await client.events(EventsRequest(hostID: hostID, seen: running.cancelling, wait: options.claimWait.inSeconds))
                for id in events.cancel where running.stop(jobID: id, reason: .cancelled) {
                    logger.info("cancelling a running job", metadata: ["job_id": "\(id)"])
                }
                backoff.reset()
            } catch {
                if Task.isCancelled { return }
                let delay = backoff.next()
                logger.debug("events poll failed, retrying in \(delay.secondsText) s: \(error)")
                try? await Task.sleep(for: delay)
            }
        }
    }
}
