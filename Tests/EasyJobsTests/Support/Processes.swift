import Foundation

/// The live processes whose parent is `pid`, from /proc: what a host has started.
func childProcesses(of pid: Int32) -> [Int32] {
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
