import EasyJobsSDK

/// The seed's ETL example as an EasyJobs plugin (queue `ETL`).
///
/// `extract` → `transform` → `load` → `compute`, where `compute` first needs
/// `configure_environment`, which needs `deploy_environment` and `prepare_db`.
let etl = Plugin(name: "etl", version: "1.0.0") {
    TaskDefinition(
        "extract",
        description: "Fetches the data at `url`; runs every minute with url http://stats.",
        options: TaskOptions(runAfter: ["transform"], schedule: "* * * * *", defaultArgs: ["url": "http://stats"])
    ) { (args: ExtractArguments, context) -> DataPayload in
        context.print("extract started")
        let data = getData(url: args.url, context: context)
        context.print("extract finished")
        return DataPayload(data: data)
    }

    TaskDefinition("transform", description: "Adds 2 to every value.", options: TaskOptions(runAfter: ["load"])) {
        (args: DataPayload, context) -> DataPayload in
        context.print("transform started")
        var transformed: [String: JSONValue] = [:]
        for (key, value) in args.data {
            switch value {
            case .int(let number):
                // Overflow would trap and take the host down with the job: fail the job instead.
                let (sum, overflow) = number.addingReportingOverflow(2)
                guard !overflow else { throw TaskFailure("transform: value of '\(key)' is too large to add 2 to: \(number)") }
                transformed[key] = .int(sum)
            case .double(let number): transformed[key] = .double(number + 2)
            default: throw TaskFailure("transform: value of '\(key)' is not a number: \(value)")
            }
        }
        context.print("transform finished")
        return DataPayload(data: transformed)
    }

    TaskDefinition(
        "load", description: "Stores the data.",
        options: TaskOptions(runAfter: ["compute"], onFailure: "failure_notify")
    ) { (args: DataPayload, context) -> DataPayload in
        context.print("load started")
        context.logger.info("load_db: stored \(args.data.count) values")
        context.print("load finished")
        return args
    }

    TaskDefinition("failure_notify", description: "Tells an admin about a failed job.") {
        (args: FailureNotice, context) -> JSONValue in
        context.logger.error("job failed: \(args.job_failed)")
        return args.job_failed
    }

    TaskDefinition("deploy_environment") { (_: NoArguments, context) -> String in
        context.print("deploy_environment - started")
        try await Task.sleep(for: ETLTiming.step)
        context.print("deploy_environment - completed")
        return "deploy_environment - completed"
    }

    TaskDefinition("prepare_db") { (_: NoArguments, context) -> String in
        context.print("prepare_db - started")
        try await Task.sleep(for: ETLTiming.step)
        context.print("prepare_db - completed")
        return "prepare_db - completed"
    }

    TaskDefinition(
        "configure_environment",
        options: TaskOptions(runBefore: ["deploy_environment", "prepare_db"])
    ) { (_: NoArguments, context) -> String in
        context.print("configure_environment - starting")
        try await Task.sleep(for: ETLTiming.step)
        context.print("configure_environment - finished")
        return "configure_environment - finished"
    }

    TaskDefinition(
        "compute", description: "Heavy, blocking work: runs in a child process.",
        options: TaskOptions(runBefore: ["configure_environment"], subprocess: true)
    ) { (args: DataPayload, context) -> JSONValue in
        context.print("starting heavy computation on \(JSONValue.object(args.data))")
        // Blocking on purpose, as the seed's time.sleep: this is why compute is a subprocess task.
        ETLTiming.blockingSleep()
        var result = args.data
        result["result"] = .string("I slept for \(ETLTiming.seconds.formatted) seconds - blocking - with data")
        return .object(result)
    }

    TaskDefinition("pipeline", description: "Calls compute and waits for its result.") { (_: NoArguments, context) -> JSONValue in
        context.print("pipeline started")
        let result = try await context.call("compute", ["data": ["test": "data"]])
        context.print("pipeline - result is \(result) - finished")
        return result
    }
}

struct ExtractArguments: Codable, Sendable {
    var url: String
}

struct DataPayload: Codable, Sendable {
    var data: [String: JSONValue]
}

struct FailureNotice: Codable, Sendable {
    var job_failed: JSONValue
}

/// Returns the seed's fixed sample.
func getData(url: String, context: TaskContext) -> [String: JSONValue] {
    context.print("get_data: \(url)")
    return ["a": 1, "b": 2, "c": 3]
}

@_cdecl("easyjobs_plugin_entry_v1")
public func easyjobsPluginEntry() -> UnsafePointer<easyjobs_plugin_descriptor> {
    etl.export()
}
