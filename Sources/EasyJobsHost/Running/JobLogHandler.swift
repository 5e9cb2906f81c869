import Logging

/// A run's log handler: the host's handler with the job's id and task added to what it emits.
///
/// Setting them as the host logger's metadata instead (`logger[metadataKey:]`) made
/// `StreamLogHandler` render its whole metadata again on every set, twice a job whether the run
/// logged anything or not: 5 % of a busy host's CPU time. Here they are added only to a
/// message that is emitted; a value the message gives itself wins.
struct JobLogHandler: LogHandler {
    var base: any LogHandler
    let jobID: String
    let task: String

    /// `logger` with the metadata of the job `jobID` of `task` on every message it emits.
    static func logger(_ logger: Logger, jobID: String, task: String) -> Logger {
        var logger = logger
        logger.handler = JobLogHandler(base: logger.handler, jobID: jobID, task: task)
        return logger
    }

    func log(event: LogEvent) {
        var event = event
        var metadata = event.metadata ?? [:]
        if metadata["job_id"] == nil { metadata["job_id"] = .string(jobID) }
        if metadata["task"] == nil { metadata["task"] = .string(task) }
        event.metadata = metadata
        base.log(event: event)
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    var metadata: Logger.Metadata {
        get { base.metadata.merging(["job_id": .string(jobID), "task": .string(task)]) { _, job in job } }
        set { base.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get {
            switch key {
            case "job_id": .string(jobID)
            case "task": .string(task)
            default: base[metadataKey: key]
            }
        }
        set { base[metadataKey: key] = newValue }
    }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }
}
