import EasyJobsSDK

/// A plugin whose tasks form a cycle through run_after and run_before: a host must refuse it.
let cyclic = Plugin(name: "cyclic", version: "1.0.0") {
    TaskDefinition("ping", options: TaskOptions(runAfter: ["pong"])) { (_: NoArguments, _) -> JSONValue in [:] }
    TaskDefinition("pong", options: TaskOptions(runBefore: ["ping"])) { (_: NoArguments, _) -> JSONValue in [:] }
}

@_cdecl("easyjobs_plugin_entry_v1")
public func easyjobsPluginEntry() -> UnsafePointer<easyjobs_plugin_descriptor> {
    cyclic.export()
}
