import EasyJobsSDK

#if canImport(Glibc)
import Glibc
#endif

/// Tasks that misbehave on purpose, for the isolation and fault tests.
let crashers = Plugin(name: "crashers", version: "1.0.0") {
    TaskDefinition("unwrap_nil", options: TaskOptions(retryPolicy: .never, subprocess: true)) { (_: NoArguments, context) -> Int in
        context.print("about to unwrap nil")
        let nothing: Int? = Int(getenv("EASYJOBS_SURELY_UNSET_VARIABLE").map { String(cString: $0) } ?? "")
        return nothing!
    }

    TaskDefinition("write_null", options: TaskOptions(retryPolicy: .never, subprocess: true)) { (_: NoArguments, _) -> Int in
        let pointer = UnsafeMutablePointer<Int>(bitPattern: Int(getpid() > 0 ? 8 : 16))!
        pointer.pointee = 42
        return 0
    }

    TaskDefinition("hang", options: TaskOptions(retryPolicy: .never, subprocess: true, timeout: 1)) { (_: NoArguments, context) -> Int in
        context.print("hanging")
        while true { sleep(1) }
    }

    TaskDefinition("sleep_blocking", options: TaskOptions(retryPolicy: .never, subprocess: true)) { (args: SecondsArguments, context) -> Double in
        context.print("sleeping \(args.seconds) s, blocking")
        usleep(UInt32(args.seconds * 1_000_000))
        return args.seconds
    }

    TaskDefinition("hog_memory", options: TaskOptions(retryPolicy: .never, subprocess: true, memoryLimitMB: 1024)) {
        (_: NoArguments, context) -> Int in
        var blocks: [UnsafeMutableRawPointer] = []
        while true {
            let size = 64 << 20
            let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            block.initializeMemory(as: UInt8.self, repeating: 1, count: size)
            blocks.append(block)
        }
    }

    /// What a child whose backtracer does not finish shows the host: the runtime's words for a
    /// crash on standard error, and a process that does not exit (seen with `hog_memory` on a
    /// loaded CI machine, whose crash report had not ended 46 s later).
    TaskDefinition("stalls_while_crashing", options: TaskOptions(retryPolicy: .never, subprocess: true)) { (_: NoArguments, _) -> Int in
        let words = "CrashersPlugin/CrashersPlugin.swift:40: Fatal error: pretending to crash\n"
        _ = words.withCString { write(2, $0, strlen($0)) }
        while true { sleep(1) }
    }

    TaskDefinition("burn_cpu", options: TaskOptions(retryPolicy: .never, subprocess: true, cpuLimitSeconds: 1)) { (_: NoArguments, _) -> Int in
        var x: UInt64 = 1
        while x != 0 { x = x &* 6364136223846793005 &+ 1442695040888963407 }
        return Int(x)
    }

    TaskDefinition("chatty", options: TaskOptions(retryPolicy: .never, subprocess: true)) { (args: LinesArguments, context) -> Int in
        for index in 1...args.lines { context.print("line \(index) of \(args.lines)") }
        context.logger.warning("a warning from the child")
        return args.lines
    }

    TaskDefinition("fails_in_child", options: TaskOptions(retryPolicy: .never, subprocess: true)) { (_: NoArguments, _) -> Int in
        throw TaskFailure("failed inside the child")
    }

    TaskDefinition("sees_secret", options: TaskOptions(subprocess: true)) { (_: NoArguments, _) -> Bool in
        getenv("EASYJOBS_SECRET") != nil
    }

    TaskDefinition("pid", options: TaskOptions(subprocess: true)) { (_: NoArguments, _) -> Int in
        Int(getpid())
    }

    TaskDefinition("slow_dependency", parameters: [.double("seconds", default: 30)], options: TaskOptions(retryPolicy: .never)) {
        (args: SecondsArguments, _) -> Double in
        try await Task.sleep(for: .milliseconds(Int(args.seconds * 1000)))
        return args.seconds
    }

    TaskDefinition("waits_for_slow", options: TaskOptions(runBefore: ["slow_dependency"], retryPolicy: .never)) { (_: NoArguments, _) -> Int in 1 }

    // In the host's own process, on purpose: a job that takes its host down (exit, a trap).
    TaskDefinition("exit_in_host", options: TaskOptions(maxAttempts: 2)) { (_: NoArguments, context) -> Int in
        context.print("exiting the host")
        exit(3)
    }

    /// Works for `seconds`, appending "<job id> <lease> <time>" to `path` every 20 ms, so a test
    /// can tell whether two runs of one job ever worked at the same time.
    TaskDefinition("tick", options: TaskOptions(maxAttempts: 5)) { (args: TickArguments, context) -> Int in
        let lease = context.attempt
        let deadline = ContinuousClock.now + .milliseconds(Int(args.seconds * 1000))
        var ticks = 0
        while ContinuousClock.now < deadline {
            try Task.checkCancellation()
            var time = timespec()
            clock_gettime(CLOCK_REALTIME, &time)
            let line = "\(context.jobID) \(lease) \(Double(time.tv_sec) + Double(time.tv_nsec) / 1e9)\n"
            if let file = fopen(args.path, "a") {
                fputs(line, file)
                fclose(file)
            }
            ticks += 1
            try await Task.sleep(for: .milliseconds(20))
        }
        return ticks
    }

    /// `tick` in a child process.
    TaskDefinition("tick_subprocess", options: TaskOptions(subprocess: true, maxAttempts: 5)) { (args: TickArguments, context) -> Int in
        let lease = context.attempt
        let deadline = ContinuousClock.now + .milliseconds(Int(args.seconds * 1000))
        var ticks = 0
        while ContinuousClock.now < deadline {
            try Task.checkCancellation()
            var time = timespec()
            clock_gettime(CLOCK_REALTIME, &time)
            let line = "\(context.jobID) \(lease) \(Double(time.tv_sec) + Double(time.tv_nsec) / 1e9)\n"
            if let file = fopen(args.path, "a") {
                fputs(line, file)
                fclose(file)
            }
            ticks += 1
            try await Task.sleep(for: .milliseconds(20))
        }
        return ticks
    }

    TaskDefinition("cooperative_wait", options: TaskOptions(retryPolicy: .never)) { (args: SecondsArguments, context) -> Double in
        context.print("waiting in the host")
        try await Task.sleep(for: .milliseconds(Int(args.seconds * 1000)))
        return args.seconds
    }
}

struct SecondsArguments: Codable, Sendable {
    var seconds: Double
}

struct TickArguments: Codable, Sendable {
    var seconds: Double
    var path: String
}

struct LinesArguments: Codable, Sendable {
    var lines: Int
}

@_cdecl("easyjobs_plugin_entry_v1")
public func easyjobsPluginEntry() -> UnsafePointer<easyjobs_plugin_descriptor> {
    crashers.export()
}
