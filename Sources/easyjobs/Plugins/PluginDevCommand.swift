import ArgumentParser
import EasyJobsClient
import EasyJobsCore
import EasyJobsHost
import EasyJobsHostCLI
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `easyjobs plugin dev [DIR]`: the plugin author's loop. Watches the package's sources; on each
/// save rebuilds incrementally and installs a good build into a host's plugin directory, which
/// the host loads without a restart (hot reload), then says when the new build serves.
///
/// ```sh
/// easyjobs plugin dev ~/src/Greeter
/// # EasyJobs is up for development: API at http://127.0.0.1:40123, plugins in /tmp/…
/// # serving greeter v0.1.0+1 (sha 3f2a9c…) in 41.2 s
/// # … a save later:
/// # serving greeter v0.1.0+2 (sha 9b07d1…) in 3.1 s
/// ```
struct PluginDevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev", abstract: "Rebuild a plugin package on every save and serve each good build.",
        discussion: """
            Without --manager, starts `easyjobs up` (a manager and a host on a throwaway SQLite store) with a \
            plugin directory of its own. With --manager and --plugins, installs into that running host's \
            directory. Build errors are printed and the last good build keeps serving; so is the reason a \
            build is refused (ABI, descriptor, cycles, cron).
            """)

    @Argument(help: "The plugin package (default: the current directory).") var directory = "."
    @Flag(help: "Build with -c release (default: debug, the quickest to rebuild).") var release = false
    @Option(help: "A running manager whose host serves the builds (EASYJOBS_MANAGER); needs --plugins.") var manager: String?
    @Option(help: "The plugin directory of that manager's host.") var plugins: String?
    @Option(help: "The host whose serving is awaited (default: any host of the manager).") var host: String?
    @Option(name: .customLong("api-token"), help: "API token of the manager (EASYJOBS_API_TOKEN).") var apiToken: String?
    @Option(help: "The queue of the host `plugin dev` starts.") var queue = "default"
    @Option(help: "Seconds between looks at the sources.") var interval: Double = 0.2

    func validate() throws {
        if manager != nil && plugins == nil {
            throw ValidationError("--manager needs --plugins: the directory of its host's plugins, where builds are installed")
        }
        guard interval > 0 && interval <= 60 else { throw ValidationError("--interval must be more than 0 and at most 60 seconds") }
    }

    func run() async throws {
        let package = URL(fileURLWithPath: directory).standardizedFileURL
        let product: String
        do {
            product = try await Self.dynamicLibraryProduct(of: package)
        } catch {
            fail(error)
        }
        let environment: DevEnvironment
        do {
            environment = try await DevEnvironment.make(
                manager: manager ?? Environment.value("EASYJOBS_MANAGER").flatMap { plugins == nil ? nil : $0 }, plugins: plugins,
                apiToken: apiToken ?? Environment.value("EASYJOBS_API_TOKEN"), queue: queue)
        } catch {
            fail(error)
        }
        let signals = DevEnvironment.stopOnSignals { environment.stop() }
        defer {
            for source in signals { source.cancel() }
            environment.stop()
        }
        announce(
            "watching \(package.path) (\(release ? "release" : "debug") builds of lib\(product).so); serving with \(environment.managerURL), plugins in \(environment.plugins.path)"
        )
        var seen: SourceSnapshot?
        var builds = 0
        // Where the builds go, asked of SwiftPM once: asking costs a third of a second of each edit.
        let binPath = BinPath()
        while environment.isRunning {
            let now = SourceSnapshot(package: package)
            if now != seen {
                // An editor may write in several steps: build once the files hold still.
                try await Task.sleep(for: .milliseconds(50))
                seen = SourceSnapshot(package: package)
                let saved = ContinuousClock.now
                if let served = await buildAndServe(package: package, product: product, environment: environment, binPath: binPath) {
                    builds += 1
                    let seconds = (ContinuousClock.now - saved).inSeconds
                    announce(
                        "serving \(served.name) v\(served.version)+\(builds) (sha \(served.sha256.prefix(12))) in \(String(format: "%.1f", seconds)) s"
                    )
                }
                continue
            }
            try await Task.sleep(for: .seconds(interval))
        }
        announce("the development host has stopped")
    }

    /// Builds, checks and installs one build; the plugin it serves, or `nil` (what went wrong is printed).
    private func buildAndServe(package: URL, product: String, environment: DevEnvironment, binPath: BinPath) async -> PluginRef? {
        announce("building lib\(product).so …")
        let configuration = release ? ["-c", "release"] : []
        let (status, output) = await ToolProcess.run(ToolProcess.swift, ["build", "--product", product] + configuration, in: package)
        guard status == 0 else {
            // The compiler renders each diagnostic twice (located, then drawn under the source):
            // the located lines, each once, are the list to read.
            var seen: Set<Substring> = []
            let errors = output.split(separator: "\n").filter { line in
                line.first?.isWhitespace == false && line.first != "|" && line.contains("error:") && seen.insert(line).inserted
            }
            StandardStreams.writeError((errors.isEmpty ? output : errors.joined(separator: "\n")) + "\n")
            announce("build failed (\(max(errors.count, 1)) error\(errors.count == 1 ? "" : "s")); still serving the last good build")
            return nil
        }
        let library = await binPath.directory(package: package, configuration: configuration).appendingPathComponent("lib\(product).so")
        // Checked as a host checks it, in a child of its own: a refused build is never installed.
        let (inspected, description) = await ToolProcess.run(HostExecutable.current, ["plugin", "inspect", "--json", library.path])
        guard inspected == 0, let info = try? WireCoding.makeDecoder().decode(PluginDescription.self, from: Data(description.utf8)).plugin else {
            announce("refused: " + description.replacingOccurrences(of: "error: ", with: "").trimmingCharacters(in: .whitespacesAndNewlines))
            return nil
        }
        do {
            try environment.install(library, as: "lib\(product).so")
        } catch {
            announce("cannot install the build: \(error)")
            return nil
        }
        do {
            try await environment.waitUntilServed(info.ref, file: "lib\(product).so", host: host)
            return info.ref
        } catch {
            announce("\((error as? EasyJobsError)?.message ?? "\(error)")")
            return nil
        }
    }

    /// The package's one dynamic library product, read from its manifest.
    static func dynamicLibraryProduct(of package: URL) async throws -> String {
        guard FileManager.default.fileExists(atPath: package.appendingPathComponent("Package.swift").path) else {
            throw EasyJobsError(.invalidConfiguration, "\(package.path) is not a SwiftPM package: it has no Package.swift")
        }
        let (status, output) = await ToolProcess.run(ToolProcess.swift, ["package", "dump-package"], in: package)
        guard status == 0, case .object(let manifest) = try? JSONValue.decode(Data(output.utf8)), case .array(let products)? = manifest["products"]
        else {
            throw EasyJobsError(.invalidConfiguration, "cannot read the manifest of \(package.path):\n\(output.suffix(2000))")
        }
        let dynamic = products.compactMap { product -> String? in
            guard case .string(let name)? = product["name"], case .array(let kind)? = product["type"]?["library"], kind.contains("dynamic")
            else { return nil }
            return name
        }
        guard dynamic.count == 1 else {
            throw EasyJobsError(
                .invalidConfiguration,
                "\(package.path) must have exactly one .dynamic library product (the plugin); it has \(dynamic.isEmpty ? "none" : dynamic.joined(separator: ", "))"
            )
        }
        return dynamic[0]
    }
}

/// The build directory of the package, read once.
final class BinPath: Sendable {
    private let known = Mutex<URL?>(nil)

    func directory(package: URL, configuration: [String]) async -> URL {
        if let url = known.withLock({ $0 }) { return url }
        let (_, path) = await ToolProcess.run(ToolProcess.swift, ["build", "--show-bin-path"] + configuration, in: package)
        let url = URL(fileURLWithPath: path.trimmingCharacters(in: .whitespacesAndNewlines))
        known.withLock { $0 = url }
        return url
    }
}
