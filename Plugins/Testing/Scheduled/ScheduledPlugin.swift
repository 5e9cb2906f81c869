import EasyJobsSDK

/// Tasks fired by schedules every second, one per catch-up policy, for the scheduling tests.
let scheduled = Plugin(name: "scheduled", version: "1.0.0") {
    TaskDefinition(
        "tick", options: TaskOptions(schedule: "@every 1s", defaultArgs: ["label": "tick"])
    ) { (args: LabelArguments, _) -> String in args.label }

    TaskDefinition(
        "tick_all", options: TaskOptions(schedule: "@every 1s", defaultArgs: ["label": "all"], catchUp: "all")
    ) { (args: LabelArguments, _) -> String in args.label }

    TaskDefinition(
        "tick_skip", options: TaskOptions(schedule: "@every 1s", defaultArgs: ["label": "skip"], catchUp: "skip")
    ) { (args: LabelArguments, _) -> String in args.label }

    TaskDefinition("hourly", options: TaskOptions(schedule: "@hourly", defaultArgs: ["label": "hourly"])) {
        (args: LabelArguments, _) -> String in args.label
    }

    TaskDefinition("slow", parameters: [.double("seconds", default: 1)]) { (args: SecondsArguments, _) -> Double in
        try await Task.sleep(for: .milliseconds(Int(args.seconds * 1000)))
        return args.seconds
    }
}

struct LabelArguments: Codable, Sendable {
    var label: String
}

struct SecondsArguments: Codable, Sendable {
    var seconds: Double
}

@_cdecl("easyjobs_plugin_entry_v1")
public func easyjobsPluginEntry() -> UnsafePointer<easyjobs_plugin_descriptor> {
    scheduled.export()
}
