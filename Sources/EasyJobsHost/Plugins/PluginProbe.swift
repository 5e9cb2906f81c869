import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Opens a plugin in a throwaway child process (`easyjobs describe-plugin`) and refuses it if
/// the child does not come back with a clean description: a plugin whose entry point crashes
/// would otherwise crash the host that opens it.
public struct PluginProbe: Sendable {
    /// The `easyjobs` executable.
    public let executable: String
    public let timeout: Duration

    public init(executable: String, timeout: Duration = .seconds(20)) {
        self.executable = executable
        self.timeout = timeout
    }

    func check(copy: URL, file: String) async throws(EasyJobsError) {
        let status: TerminationStatus
        let errors: String
        do {
            let result = try await withThrowingTaskGroup(of: Optional<(TerminationStatus, String)>.self) { group in
                group.addTask {
                    let result = try await Subprocess.run(
                        .path(FilePath(executable)), arguments: ["describe-plugin", copy.path, "--name", file],
                        environment: .inherit.updating([
                            "EASYJOBS_SECRET": nil, "EASYJOBS_API_TOKEN": nil,
                            "SWIFT_BACKTRACE": "enable=yes,interactive=no,color=no,threads=crashed,registers=none,images=none,limit=16,top=4",
                        ]),
                        output: .discarded, error: .string(limit: 64 << 10))
                    return (result.terminationStatus, result.standardError)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            guard let result else {
                throw EasyJobsError(.pluginRefused, "\(file): describing itself took longer than \(timeout)", context: ["file": file])
            }
            (status, errors) = result
        } catch let error as EasyJobsError {
            throw error
        } catch {
            throw EasyJobsError(.pluginRefused, "\(file): cannot start the plugin probe: \(error)", context: ["file": file])
        }
        switch status {
        case .exited(0):
            return
        case .exited:
            // The child printed the refusal, naming the field and both values.
            var reason = errors.split(separator: "\n").last.map(String.init) ?? "\(file): refused"
            if reason.hasPrefix("error: ") { reason.removeFirst("error: ".count) }
            throw EasyJobsError(.pluginRefused, reason, context: ["file": file])
        case .signaled(let signal):
            let tail = errors.split(separator: "\n").filter { !$0.trimmingWhitespace.isEmpty }.suffix(12)
                .joined(separator: "\n")
            throw EasyJobsError(
                .pluginRefused,
                "\(file): crashed while describing itself (\(SubprocessRunner.signalName(signal)))" + (tail.isEmpty ? "" : "\n" + tail),
                context: ["file": file, "field": "entry_point"])
        }
    }
}
