import EasyJobsSDK
import Synchronization

/// Runs of `overlap` in this process now, and the most there were at once.
let overlapping = Mutex((running: 0, most: 0))

/// Tasks for the tests and the benchmark (queue of your choice).
let testTasks = Plugin(name: "test-tasks", version: "1.0.0") {
    TaskDefinition("noop", description: "Does nothing; measures the system's own cost.") { (_: NoArguments, _) in }

    TaskDefinition("noop_subprocess", description: "Does nothing, in a child process.", options: TaskOptions(subprocess: true)) {
        (_: NoArguments, _) in
    }

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
        try await Task.sleep(for: .seconds(min(max(args.seconds.isFinite ? args.seconds : 0, 0), 3600)))
        return args.seconds
    }

    TaskDefinition(
        "overlap", description: "Sleeps `seconds`; returns the most runs of it this process had at once.",
        parameters: [.double("seconds", default: 0.02)]
    ) { (args: SleepArguments, _) -> Int in
        overlapping.withLock { state in
            state.running += 1
            state.most = max(state.most, state.running)
        }
        defer { overlapping.withLock { $0.running -= 1 } }
        try await Task.sleep(for: .seconds(min(max(args.seconds.isFinite ? args.seconds : 0, 0), 10)))
        return overlapping.withLock { $0.most }
    }

    TaskDefinition(
        "spin", description: "Computes without ever suspending, checking for a cancellation (its 1 s timeout); gives up after 20 s.",
        options: TaskOptions(retryPolicy: .never, timeout: 1)
    ) { (_: NoArguments, _) -> Int in
        let deadline = ContinuousClock.now + .seconds(20)
        var rounds = 0
        while !Task.isCancelled && ContinuousClock.now < deadline { rounds &+= 1 }
        try Task.checkCancellation()
        return rounds
    }

    TaskDefinition("fail", description: "Always fails with `message`.", options: TaskOptions(retryPolicy: .never)) {
        (args: FailArguments, _) -> JSONValue in
        throw TaskFailure(args.message)
    }

    TaskDefinition("nest", description: "Calls itself `depth` times; returns the depth reached.") { (args: NestArguments, context) -> Int in
        guard args.depth > 0 else { return 0 }
        let inner = try await context.call("nest", ["depth": .int(args.depth - 1)])
        guard case .int(let reached) = inner else { throw TaskFailure("nest returned \(inner)") }
        return reached + 1
    }

    TaskDefinition(
        "fan_out", description: "Enqueues `count` add jobs without waiting (keyed by this job, delayed by `delay`); returns their ids.",
        parameters: [.int("count", default: 3), .double("delay", default: 0)]
    ) { (args: FanOutArguments, context) -> [String] in
        var ids: [String] = []
        for index in 0..<min(max(args.count, 0), 100) {
            ids.append(
                try await context.enqueue(
                    "add", ["a": .int(index), "b": 1],
                    options: EnqueueOptions(delay: args.delay > 0 ? args.delay : nil, priority: 1, idempotencyKey: "\(context.jobID)-\(index)")))
        }
        return ids
    }

    TaskDefinition(
        "capped_sleep", description: "Sleeps `seconds`; at most 2 run at once in the queue, across hosts.",
        parameters: [.double("seconds", default: 0.3)], options: TaskOptions(retryPolicy: .never, concurrency: 2)
    ) { (args: SleepArguments, _) -> Double in
        try await Task.sleep(for: .seconds(min(max(args.seconds.isFinite ? args.seconds : 0, 0), 60)))
        return args.seconds
    }

    TaskDefinition(
        "rated", description: "Does nothing; at most 3 start per 2 s in the queue.", options: TaskOptions(rateLimit: (limit: 3, period: 2))
    ) { (_: NoArguments, _) in }

    TaskDefinition(
        "progress_steps", description: "Reports half way, sleeps `seconds`, reports done.", parameters: [.double("seconds", default: 1)]
    ) { (args: SleepArguments, context) -> Int in
        await context.progress(0.5, "halfway")
        try await Task.sleep(for: .seconds(min(max(args.seconds.isFinite ? args.seconds : 0, 0), 60)))
        await context.progress(1, "done")
        return 2
    }

    TaskDefinition(
        "progress_in_child", description: "progress_steps in a subprocess child.", parameters: [.double("seconds", default: 1)],
        options: TaskOptions(subprocess: true)
    ) { (args: SleepArguments, context) -> Int in
        await context.progress(0.5, "halfway")
        try await Task.sleep(for: .seconds(min(max(args.seconds.isFinite ? args.seconds : 0, 0), 60)))
        await context.progress(1, "done")
        return 2
    }

    TaskDefinition("enqueue_unknown", description: "Enqueues a task its queue does not have.") { (_: NoArguments, context) -> String in
        try await context.enqueue("no_such_task")
    }

    TaskDefinition("flaky", description: "Fails its first run, succeeds on the retry (retry_once).") { (_: NoArguments, context) -> Int in
        if context.attempt == 1 { throw TaskFailure("first run fails on purpose") }
        return context.attempt
    }

    TaskDefinition(
        "always_fails", description: "Fails every run; retried with backoff up to 3 runs.",
        options: TaskOptions(onFailure: "record_failure", retryPolicy: .retryAlways, maxAttempts: 3, backoff: 0.5)
    ) { (_: NoArguments, context) -> Int in
        throw TaskFailure("failure number \(context.attempt)")
    }

    TaskDefinition("boom", description: "Fails at once, never retried.", options: TaskOptions(retryPolicy: .never)) {
        (_: NoArguments, _) -> Int in
        throw TaskFailure("boom")
    }

    TaskDefinition("answer", description: "Returns 42 after `delay` seconds.", parameters: [.double("delay", default: 0)]) {
        (args: DelayArguments, _) -> Int in
        // Any double may arrive: `Int(_:)` traps on one out of range, and would take the host with it.
        try await Task.sleep(for: .seconds(min(max(args.delay.isFinite ? args.delay : 0, 0), 3600)))
        return 42
    }

    TaskDefinition(
        "uses_dependencies", description: "Runs after answer and noop; returns what they returned.",
        options: TaskOptions(runBefore: ["answer", "noop"])
    ) { (_: NoArguments, context) -> JSONValue in
        .object(context.dependencies)
    }

    TaskDefinition(
        "guarded", description: "Needs boom and answer first; boom fails, so it fails.",
        options: TaskOptions(runBefore: ["boom", "answer"], onFailure: "record_failure")
    ) { (_: NoArguments, _) -> Int in 1 }

    TaskDefinition("record_failure", description: "An on_failure handler: returns the failure it got.") {
        (args: FailureArguments, context) -> JSONValue in
        context.logger.warning("recorded failure of job \(args.job_failed)")
        return args.job_failed
    }

    TaskDefinition("scalar", description: "Returns 7; its run_after needs an object.", options: TaskOptions(runAfter: ["add"])) {
        (_: NoArguments, _) -> Int in 7
    }

    TaskDefinition("mismatch", description: "Returns an object that does not fit add.", options: TaskOptions(runAfter: ["add"])) {
        (_: NoArguments, _) -> JSONValue in ["a": "one", "c": 3]
    }

    TaskDefinition("dangling", description: "Names a task nobody serves.", options: TaskOptions(runAfter: ["nowhere"])) {
        (_: NoArguments, _) in
    }

    // A three-step run_after chain of no-ops, for the benchmark's chain latency: each step hands
    // the next its result as arguments.
    TaskDefinition("chain_first", description: "First of a 3-step no-op chain.", options: TaskOptions(runAfter: ["chain_second"])) {
        (_: NoArguments, _) -> JSONValue in ["step": 1]
    }

    TaskDefinition(
        "chain_second", description: "Second of a 3-step no-op chain.", parameters: [.int("step")], options: TaskOptions(runAfter: ["chain_third"])
    ) {
        (args: StepArguments, _) -> JSONValue in ["step": .int(args.step + 1)]
    }

    TaskDefinition("chain_third", description: "Last of a 3-step no-op chain.", parameters: [.int("step")]) {
        (args: StepArguments, _) -> Int in args.step + 1
    }

    TaskDefinition("typed", description: "Takes one argument of each type.") {
        (args: TypedArguments, context) -> TypedArguments in
        context.logger.info("typed called")
        return args
    }
}

struct StepArguments: Codable, Sendable {
    var step: Int
}

struct NestArguments: Codable, Sendable {
    var depth: Int
}

struct DelayArguments: Codable, Sendable {
    var delay: Double
}

struct FailureArguments: Codable, Sendable {
    var job_failed: JSONValue
}

struct EchoArguments: Codable, Sendable {
    var value: JSONValue
}

struct FanOutArguments: Codable, Sendable {
    var count: Int
    var delay: Double
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
