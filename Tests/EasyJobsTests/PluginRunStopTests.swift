import Foundation
import Testing

@testable import EasyJobsHost

/// Stopping a plugin's run through the real plugin (`libTestTasks.so`, loaded into this
/// process) when the stop comes before the plugin knows the run: the host stops a run by
/// cancelling its task, which may happen before the run has reached the plugin.
@Suite struct PluginRunStopTests {
    let directory: TemporaryDirectory
    let plugin: LoadedPlugin

    init() throws {
        directory = try TemporaryDirectory("plugin-run-stop")
        plugin = try DynamicLibraryLoader(cacheDirectory: directory.url).loadInProcess(file: BuildProducts.plugin("TestTasks"))
    }

    func invocation(delay: Double) -> TaskInvocation {
        TaskInvocation(
            jobID: "0190d3c4-0000-7000-8000-000000000001", arguments: Data(#"{"delay":\#(delay)}"#.utf8),
            context: Data(#"{"attempt":1,"job_id":"0190d3c4-0000-7000-8000-000000000001","queue":"test","task":"answer"}"#.utf8),
            onLog: { _ in })
    }

    /// The calling task is cancelled before the run starts: the plugin gets the cancel before it
    /// has the run, and the run must still stop instead of sleeping its 3 s and answering.
    @Test func aRunStoppedBeforeThePluginKnowsItStillStops() async throws {
        defer { directory.remove() }
        let plugin = plugin
        let invocation = invocation(delay: 3)
        let outcome = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await plugin.run(task: "answer", invocation: invocation)
        }.value
        guard case .cancelled = outcome else {
            Issue.record("expected the run to be cancelled, got \(outcome)")
            return
        }
    }
}
