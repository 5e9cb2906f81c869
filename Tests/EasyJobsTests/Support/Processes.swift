import Foundation

/// The children of host `pid` that run a job (a `run-task` child renames itself
/// `easyjobs-job` once it has its job): what the host started for its jobs. Children waiting
/// in its subprocess pool are `idleChildren(of:)`.
func childProcesses(of pid: Int32) -> [Int32] {
    allChildren(of: pid).filter { processName($0) == "easyjobs-job" }
}

/// The `run-task` children of host `pid` that have no job yet: its subprocess pool.
func idleChildren(of pid: Int32) -> [Int32] {
    allChildren(of: pid).filter { processName($0) != "easyjobs-job" && commandLine($0).dropFirst().first == "run-task" }
}

/// `/proc/PID/comm`: the process's name.
func processName(_ pid: Int32) -> String? {
    (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// `/proc/PID/cmdline`: the process's arguments, the executable first.
func commandLine(_ pid: Int32) -> [String] {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
    return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
}

/// `/proc/PID/environ`: the process's environment, `NAME=value` each.
func environment(of pid: Int32) -> [String] {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [] }
    return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
}

/// The live processes whose parent is `pid`, from /proc: whatever a host has started.
func allChildren(of pid: Int32) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.compactMap(Int32.init).filter { candidate in
        guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        // Fields after the command: state, ppid, …
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 && fields[0] != "Z" && Int32(fields[1]) == pid
    }
}

/// Whether process `pid` is alive (and not a zombie).
func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
        return false
    }
    return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
}
