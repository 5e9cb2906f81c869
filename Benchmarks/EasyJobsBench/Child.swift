import Foundation
import Synchronization

/// A process the benchmark started; stopped by PID when the benchmark ends.
final class Child: Sendable {
    let process: Process
    private let output = Mutex(Data())

    init(_ executable: URL, _ arguments: [String]) throws {
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let data = handle.availableData
            output.withLock { $0.append(data) }
        }
        try process.run()
    }

    func waitForLine(prefix: String) async throws -> String {
        for _ in 0..<600 {
            let text = output.withLock { String(decoding: $0, as: UTF8.self) }
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CocoaError(.fileReadUnknown)
    }

    /// Resident memory from /proc, in MiB.
    var rssMiB: Double {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return .nan }
        return kib / 1024
    }

    /// User and system CPU time so far, in seconds, from /proc.
    var cpuSeconds: Double { CPUTime.seconds(ofProcess: "\(process.processIdentifier)") }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<100 where process.isRunning { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// CPU time of processes, from `/proc/<pid>/stat` (utime and stime, in clock ticks).
enum CPUTime {
    static func seconds(ofProcess pid: String) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return .nan }
        // The fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
