#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// The executables a host runs as, and starts its children from.
///
/// `easyjobs` is one binary for the manager, the host and the client: it links the manager's
/// libraries (Hummingbird, GRDB, PostgresNIO, the AMQP client) and Foundation proper. A host
/// needs none of them, and each costs resident memory in every host and every subprocess child
/// (code pages the dynamic loader touches, Foundation's start-up). `easyjobs-host` is the host
/// alone (`host`, `run-task`, `describe-plugin`), built on FoundationEssentials only; when it is
/// installed beside `easyjobs`, `easyjobs host` becomes it (`replaceProcess`), and hosts start
/// their children and plugin probes from it.
public enum HostExecutable {
    /// The lean executable's file name, beside `easyjobs`.
    public static let leanName = "easyjobs-host"
    /// The subcommands the lean executable runs.
    public static let leanCommands: Set<String> = ["host", "run-task", "describe-plugin"]

    /// This process's executable file.
    public static var current: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// `easyjobs-host` beside this process's executable (or this one, if it is that), when installed.
    public static var lean: String? {
        let current = current
        if current.hasSuffix("/" + leanName) { return current }
        let sibling = URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(leanName).path
        return access(sibling, X_OK) == 0 ? sibling : nil
    }

    /// What runs `run-task` and `describe-plugin`: the lean executable when installed, else this one.
    public static var forChildren: String { lean ?? current }

    /// When `arguments` (a command line, without the executable) name a host subcommand and the
    /// lean executable is installed beside this one, replaces this process with it, same
    /// arguments, same pid, same environment. Returns if there is nothing to replace (or
    /// `exec` failed: the caller then runs the command itself, as before).
    public static func replaceProcess(arguments: [String]) {
        guard let command = arguments.first, leanCommands.contains(command), let lean, lean != current else { return }
        var argv = ([lean] + arguments).map { strdup($0) }
        argv.append(nil)
        execv(lean, argv)
        for pointer in argv { free(pointer) }
    }
}
