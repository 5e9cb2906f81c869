import EasyJobsSDK

/// Tasks for the tests and the benchmark (queue of your choice).
let testTasks = Plugin(name: "test-tasks", version: "1.0.0") {
    TaskDefinition("noop", description: "Does nothing; measures the system's own cost.") { (_: NoArguments, _) in }

    TaskDefinition("echo", description: "Returns its arguments.") { (args: EchoArguments, _) -> EchoArguments in
        args
    }

    TaskDefinition("add", description: "Adds two integers.") { (args: AddArguments, _) -> Int in
        args.a + args.b
    }

    TaskDefinition(
        "sleep", description: "Sleeps without holding a thread.",
        parameters: [.double("seconds", default: 1)]
    ) { (args: SleepArguments, context) -> Double in
        context.print("sleeping \(args.seconds) s")
        try await Task.sleep(for: .milliseconds(Int(args.seconds * 1000)))
        return args.seconds
    }

    TaskDefinition("fail", description: "Always fails with `message`.", options: TaskOptions(retryPolicy: .never)) {
        (args: FailArguments, _) -> JSONValue in
        throw TaskFailure(args.message)
    }

    TaskDefinition("typed", description: "Takes one argument of each type.") {
        (args: TypedArguments, context) -> TypedArguments in
        context.logger.info("typed called")
        return args
    }
}

struct EchoArguments: Codable, Sendable {
    var value: JSONValue
}

struct AddArguments: Codable, Sendable {
    var a: Int
    var b: Int
}

struct SleepArguments: Codable, Sendable {
    var seconds: Double
}

struct FailArguments: Codable, Sendable {
    var message: String
}

struct TypedArguments: Codable, Sendable {
    var text: String
    var count: Int
    var ratio: Double
    var flag: Bool
    var object: [String: JSONValue]
    var list: [JSONValue]
    var note: String?
}

@_cdecl("easyjobs_plugin_entry_v1")
public func easyjobsPluginEntry() -> UnsafePointer<easyjobs_plugin_descriptor> {
    testTasks.export()
}
