import EasyJobsHostCLI
import ArgumentParser
import EasyJobsCore
import EasyJobsHost
import Foundation

struct PluginInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print a plugin's descriptor, or why a host would refuse it.")

    @Argument(help: "The plugin file (.so, or a foreign library's .easyjobs.json manifest).") var file: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let url = URL(fileURLWithPath: file)
        let executable = HostExecutable.forChildren
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-plugin-cache")
        do {
            // Opened in a throwaway child first, as a host does: a crashing plugin is reported, not fatal.
            let plugin = try await DynamicLibraryLoader(cacheDirectory: cache, probe: PluginProbe(executable: executable)).load(file: url)
            if json {
                print(
                    String(
                        decoding: try WireCoding.makeEncoder().encode(PluginDescription(plugin: plugin.info, sdkVersion: plugin.sdkVersion)),
                        as: UTF8.self))
                return
            }
            print(
                "\(plugin.info.name) \(plugin.info.version)  ABI \(plugin.info.abi)  "
                    + (plugin.isForeign ? "foreign (C functions through libffi)" : "SDK \(plugin.sdkVersion)"))
            print("sha256 \(plugin.info.sha256)")
            let foreign = plugin.foreignSignatures
            for task in plugin.info.tasks {
                print("  \(task.signature)")
                if let signature = foreign[task.name] { print("      C: \(signature)") }
                if let description = task.description { print("      \(description)") }
                let options = task.options
                var notes = ["retry \(options.retryPolicy.rawValue)"]
                if !options.runBefore.isEmpty { notes.append("run_before \(options.runBefore.joined(separator: ","))") }
                if !options.runAfter.isEmpty { notes.append("run_after \(options.runAfter.joined(separator: ","))") }
                if let handler = options.onFailure { notes.append("on_failure \(handler)") }
                if options.subprocess { notes.append("subprocess") }
                if let schedule = options.schedule { notes.append("schedule \"\(schedule)\"") }
                if let timeout = options.timeout { notes.append("timeout \(timeout) s") }
                print("      " + notes.joined(separator: " · "))
            }
            for (task, problems) in PipelineValidation.problems(in: plugin.info.tasks).sorted(by: { $0.key < $1.key }) {
                for problem in problems { print("  warning: \(task): \(problem)") }
            }
        } catch {
            fail(error)
        }
    }
}
