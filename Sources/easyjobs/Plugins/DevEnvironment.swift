import EasyJobsClient
import EasyJobsCore
import EasyJobsHost
import EasyJobsHostCLI
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where `plugin dev` serves its builds: a running manager's host, or an `easyjobs up` of its
/// own (a manager and a host on a throwaway store), which it ends when it ends.
final class DevEnvironment: Sendable {
    let managerURL: String
    let plugins: URL
    let client: ManagerClient
    /// The `easyjobs up` this command started, by PID; `nil` when attached to a running manager.
    private let child: Mutex<Process?>
    private let scratch: URL?

    private init(managerURL: String, plugins: URL, client: ManagerClient, child: Process?, scratch: URL?) {
        self.managerURL = managerURL
        self.plugins = plugins
        self.client = client
        self.child = Mutex(child)
        self.scratch = scratch
    }

    static func make(manager: String?, plugins: String?, apiToken: String?, queue: String) async throws -> DevEnvironment {
        if let manager, let plugins {
            let directory = URL(fileURLWithPath: plugins).standardizedFileURL
            guard FileManager.default.fileExists(atPath: directory.path) else {
                throw EasyJobsError(.invalidConfiguration, "--plugins \(directory.path) does not exist: give the plugin directory of the host")
            }
            let client = ManagerClient(baseURL: manager, apiToken: apiToken)
            guard (try? await client.health()) == true else {
                throw EasyJobsError(.managerUnavailable, "the manager at \(manager) does not answer /health")
            }
            return DevEnvironment(managerURL: manager, plugins: directory, client: client, child: nil, scratch: nil)
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-plugin-dev-\(getpid())")
        let directory = scratch.appendingPathComponent("plugins")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        guard let port = ToolProcess.freePort() else { throw EasyJobsError(.internalError, "found no free port for the development manager") }
        let url = "http://127.0.0.1:\(port)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: HostExecutable.current)
        process.arguments = [
            "up", "--port", "\(port)", "--plugins", directory.path, "--data-dir", scratch.appendingPathComponent("data").path,
            "--queue", queue, "--name", "plugin-dev",
        ]
        try process.run()
        let environment = DevEnvironment(managerURL: url, plugins: directory, client: ManagerClient(baseURL: url), child: process, scratch: scratch)
        let deadline = ContinuousClock.now + .seconds(60)
        while (try? await environment.client.hosts().contains { $0.online }) != true {
            guard process.isRunning, ContinuousClock.now < deadline else {
                environment.stop()
                throw EasyJobsError(.managerUnavailable, "the development manager and host (easyjobs up) did not start")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        announce("EasyJobs is up for development: API at \(url), plugins in \(directory.path)")
        return environment
    }

    /// False once the `easyjobs up` this command started has ended.
    var isRunning: Bool {
        child.withLock { $0?.isRunning ?? true }
    }

    /// Ends the `easyjobs up` this command started (SIGTERM: its host hands its jobs back), and its scratch directory.
    func stop() {
        child.withLock { process in
            guard let process, process.isRunning else { return }
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(15)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    /// Copies the build in beside its final name and renames it over the old one: the host's
    /// watcher never sees a half-written library.
    func install(_ library: URL, as name: String) throws {
        let temporary = plugins.appendingPathComponent(".\(name).tmp")
        try? FileManager.default.removeItem(at: temporary)
        try FileManager.default.copyItem(at: library, to: temporary)
        guard rename(temporary.path, plugins.appendingPathComponent(name).path) == 0 else {
            throw EasyJobsError(.internalError, "cannot move \(temporary.path) into place: \(String(cString: strerror(errno)))")
        }
    }

    /// Waits until a host serves the build, or says why it refused it.
    func waitUntilServed(_ build: PluginRef, file: String, host: String?, timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        var refusal: String?
        while ContinuousClock.now < deadline {
            let hosts = (try? await client.hosts())?.filter { host == nil || $0.name == host } ?? []
            if hosts.contains(where: { $0.online && $0.plugins.contains { $0.sha256 == build.sha256 } }) { return }
            refusal = hosts.flatMap(\.refused).first { $0.file.hasSuffix(file) }?.reason
            try await Task.sleep(for: .milliseconds(25))
        }
        throw EasyJobsError(
            .timedOut,
            "no host\(host.map { " named \($0)" } ?? "") served the build within \(timeout)" + (refusal.map { "; the host said: \($0)" } ?? ""))
    }

    /// Ends the environment on SIGINT or SIGTERM, then this process.
    static func stopOnSignals(_ stop: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                stop()
                exit(0)
            }
            source.resume()
            return source
        }
    }
}
