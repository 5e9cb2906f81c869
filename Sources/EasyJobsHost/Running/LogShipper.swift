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

/// Sends jobs' log lines to the manager in batches, a few times a second.
final class LogShipper: Sendable {
    private let pending = Mutex([String: [JobLogLine]]())
    private let client: ManagerClient
    private let hostID: String
    private let logger: Logger

    init(client: ManagerClient, hostID: String, logger: Logger) {
        self.client = client
        self.hostID = hostID
        self.logger = logger
    }

    func append(jobID: String, stream: JobLogLine.Stream, line: String) {
        pending.withLock { $0[jobID, default: []].append(JobLogLine(stream: stream, line: line, at: .now)) }
    }

    /// Ships until cancelled, then once more.
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            await flush()
        }
        await flush()
    }

    func flush() async {
        let batch = pending.withLock { pending in
            let batch = pending
            pending = [:]
            return batch
        }
        guard !batch.isEmpty else { return }
        do {
            try await client.appendLogs(LogsRequest(hostID: hostID, lines: batch))
        } catch {
            // Logs are worth less than results: keep a bounded backlog and try again.
            pending.withLock { pending in
                for (job, lines) in batch where pending[job, default: []].count < 10_000 {
                    pending[job] = lines + (pending[job] ?? [])
                }
            }
            logger.debug("cannot ship job logs yet: \(error)")
        }
    }
}
