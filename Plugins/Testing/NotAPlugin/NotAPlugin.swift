/// A shared library that exports no EasyJobs entry point: a host must refuse it.
@_cdecl("not_a_plugin_answer")
public func notAPluginAnswer() -> Int32 { 42 }
