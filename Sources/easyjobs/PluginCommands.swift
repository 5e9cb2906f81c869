import EasyJobsHostCLI
import ArgumentParser
import EasyJobsCore
import EasyJobsHost
import Foundation

/// `easyjobs plugin new|inspect`: a plugin author's tools.
struct PluginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin", abstract: "Create and inspect plugins.", subcommands: [PluginNewCommand.self, PluginInspectCommand.self])
}

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

struct PluginNewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new", abstract: "Create a SwiftPM package for a new plugin that builds a .so for a host.")

    @Argument(help: "The plugin's name, such as Greeter.") var name: String
    @Option(help: "Where to create the package (default: the current directory).") var path = "."
    @Option(help: "The EasyJobs checkout whose SDK the plugin builds against (default: found from this executable).") var sdk: String?

    func validate() throws {
        guard name.first?.isLetter == true, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw ValidationError("the name must be a Swift identifier, such as Greeter; got '\(name)'")
        }
    }

    func run() throws {
        guard let repository = sdk.map({ URL(fileURLWithPath: $0) }) ?? Self.findRepository() else {
            fail(EasyJobsError(.invalidConfiguration, "cannot find the EasyJobs checkout from this executable; give it with --sdk PATH"))
        }
        let package = URL(fileURLWithPath: path).appendingPathComponent(name)
        guard !FileManager.default.fileExists(atPath: package.path) else {
            fail(EasyJobsError(.invalidConfiguration, "\(package.path) already exists"))
        }
        let sources = package.appendingPathComponent("Sources/\(name)")
        try FileManager.default.createDirectory(at: sources, withIntermediateDirectories: true)
        try PluginTemplate.package(name: name, sdk: repository.standardizedFileURL.path).write(
            to: package.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
        try PluginTemplate.source(name: name).write(to: sources.appendingPathComponent("\(name)Plugin.swift"), atomically: true, encoding: .utf8)
        try ".build/\n.build-*/\nPackage.resolved\n".write(to: package.appendingPathComponent(".gitignore"), atomically: true, encoding: .utf8)
        print("created \(package.path)")
        print("build it:  cd \(package.path) && swift build -c release")
        print("run it:    cp .build/release/lib\(name).so <your host's --plugins directory>")
    }

    /// The checkout holding `SDK/EasyJobsSDK`, walking up from this executable (which lives in its `.build`).
    static func findRepository() -> URL? {
        let executable = HostExecutable.current
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while directory.pathComponents.count > 1 {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("SDK/EasyJobsSDK").path) { return directory }
            directory.deleteLastPathComponent()
        }
        return nil
    }
}

enum PluginTemplate {
    static func package(name: String, sdk: String) -> String {
        """
        // swift-tools-version: 6.0
        import PackageDescription

        let package = Package(
            name: "\(name)",
            products: [
                // The host loads this shared library: copy lib\(name).so into its --plugins directory.
                .library(name: "\(name)", type: .dynamic, targets: ["\(name)"]),
            ],
            dependencies: [
                .package(name: "EasyJobs", path: "\(sdk)"),
            ],
            targets: [
                .target(name: "\(name)", dependencies: [.product(name: "EasyJobsSDK", package: "EasyJobs")]),
            ],
            swiftLanguageModes: [.v6]
        )

        """
    }

    static func source(name: String) -> String {
        let plugin = name.prefix(1).lowercased() + name.dropFirst()
        return """
            import EasyJobsSDK

            struct GreetArguments: Codable, Sendable {
                var name: String
            }

            struct Greeting: Codable, Sendable {
                var text: String
            }

            let \(plugin) = Plugin(name: "\(plugin)", version: "0.1.0") {
                TaskDefinition("greet", description: "Says hello to `name`.") { (args: GreetArguments, context) -> Greeting in
                    context.logger.info("greeting \\(args.name)")
                    context.print("hello, \\(args.name)")
                    return Greeting(text: "hello, \\(args.name)")
                }
            }

            @_cdecl("easyjobs_plugin_entry_v1")
            public func easyjobsPluginEntry() -> UnsafePointer<easyjobs_plugin_descriptor> {
                \(plugin).export()
            }

            """
    }
}
