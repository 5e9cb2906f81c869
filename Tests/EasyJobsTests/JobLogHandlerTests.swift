@testable import EasyJobsHost
import Logging
import Synchronization
import Testing

/// A run's logger says which job and task a message is about, only on the messages it emits,
/// and leaves the host's logger as it was.
@Suite struct JobLogHandlerTests {
    /// Keeps what reaches it.
    final class Sink: Sendable {
        let events = Mutex<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])
    }

    struct CapturingHandler: LogHandler {
        let sink: Sink
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, message in message }
            sink.events.withLock { $0.append((event.level, event.message.description, merged)) }
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
    }

    @Test func emittedMessagesCarryTheJobAndTheHostLoggerIsUntouched() {
        let sink = Sink()
        var host = Logger(label: "test") { _ in CapturingHandler(sink: sink) }
        host[metadataKey: "host"] = "h1"
        let job = JobLogHandler.logger(host, jobID: "j-1", task: "extract")

        job.info("started")
        job.warning("slow", metadata: ["task": "given"])
        job.debug("below the level: not emitted")
        host.info("the host's own")

        let events = sink.events.withLock { $0 }
        #expect(events.map(\.message) == ["started", "slow", "the host's own"])
        #expect(events[0].metadata == ["host": "h1", "job_id": "j-1", "task": "extract"])
        // A value the message gives itself wins over the job's.
        #expect(events[1].metadata == ["host": "h1", "job_id": "j-1", "task": "given"])
        #expect(events[2].metadata == ["host": "h1"])
        #expect(job[metadataKey: "job_id"] == "j-1" && job[metadataKey: "host"] == "h1")
        #expect(job.logLevel == .info)
        #expect(host[metadataKey: "job_id"] == nil)
    }
}
