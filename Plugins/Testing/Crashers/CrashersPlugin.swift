import EasyJobsSDK

#if canImport(Glibc)
import Glibc
#endif

/// Subprocess tasks that misbehave on purpose, for the isolation tests.
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

    TaskDefinition("hog_memory", options: TaskOptions(retryPolicy: .never, subprocess: true, memoryLimitMB: 1024)) { (_: NoArguments, context) -> Int in
        var blocks: [UnsafeMutableRawPointer] = []
        while true {
            let size = 64 << 20
            let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            block.initializeMemory(as: UInt8.self, repeating: 1, count: size)
            blocks.append(block)
        }
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

    TaskDefinition("cooperative_wait", options: TaskOptions(retryPolicy: .never)) { (args: SecondsArguments, context) -> Double in
        context.print("waiting in the host")
        try await Task.sleep(for: .milliseconds(Int(args.seconds * 1000)))
        return args.seconds
    }
}

struct SecondsArguments: Codable, Sendable {
    var seconds: Double
}

struct LinesArguments: Codable, Sendable {
    var lines: Int
}

@_cdecl("easyjobs_plugin_entry_v1")
public func easyjobsPluginEntry() -> UnsafePointer<easyjobs_plugin_descriptor> {
    crashers.export()
}
