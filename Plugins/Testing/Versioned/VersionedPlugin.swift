import EasyJobsSDK
import VersionedMarker

/// A plugin whose version (and misbehaviour) a test patches into a copy of the built file, so
/// that hot reload can be tested with many versions from one build.
let version = Int(easyjobs_marker_version())
let mode = Int(easyjobs_marker_mode())

let versioned = Plugin(name: "versioned", version: "\(version)") {
    TaskDefinition("version", description: "Returns the version of the plugin that ran it.") { (_: NoArguments, _) -> Int in
        version
    }

    TaskDefinition(
        "version_in_child", description: "Returns the version of the plugin its child process loaded.", options: TaskOptions(subprocess: true)
    ) {
        (_: NoArguments, _) -> Int in
        version
    }

    TaskDefinition("slow_version", description: "Sleeps, then returns the version it started on.", parameters: [.double("seconds", default: 1)]) {
        (args: SlowArguments, _) -> Int in
        try await Task.sleep(for: .milliseconds(Int(args.seconds * 1000)))
        return version
    }

    if version >= 2 {
        TaskDefinition("added_in_2", description: "Exists from version 2 on.", parameters: [.int("n")]) { (args: CountArguments, _) -> Int in
            args.n * 2
        }
    }

    switch mode {
    case 1:
        TaskDefinition("version") { (_: NoArguments, _) -> Int in 0 }
    case 2:
        TaskDefinition("scheduled", options: TaskOptions(schedule: "61 * * * *")) { (_: NoArguments, _) -> Int in 0 }
    case 3:
        TaskDefinition("loop_a", options: TaskOptions(runAfter: ["loop_b"])) { (_: NoArguments, _) -> JSONValue in [:] }
        TaskDefinition("loop_b", options: TaskOptions(runAfter: ["loop_a"])) { (_: NoArguments, _) -> JSONValue in [:] }
    default:
        []
    }
}

struct SlowArguments: Codable, Sendable {
    var seconds: Double
}

struct CountArguments: Codable, Sendable {
    var n: Int
}

@_cdecl("easyjobs_plugin_entry_v1")
public func easyjobsPluginEntry() -> UnsafePointer<easyjobs_plugin_descriptor> {
    if mode == 4 { fatalError("this copy crashes while it describes itself") }
    return versioned.export()
}
