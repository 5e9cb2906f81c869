import EasyJobsCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Aligned columns for people; colour only on a terminal (and never with NO_COLOR).
struct Table {
    var header: [String]
    var rows: [[String]] = []

    static let colour = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    static func status(_ status: JobStatus) -> String {
        guard colour else { return status.rawValue }
        let code =
            switch status {
            case .completed: "32"
            case .failed: "31"
            case .running: "34"
            case .cancelled, .expired: "90"
            case .waiting, .scheduled: "33"
            case .queued: "37"
            }
        return "\u{1B}[\(code)m\(status.rawValue)\u{1B}[0m"
    }

    /// Width as shown: escape sequences take no room.
    static func visibleCount(_ text: String) -> Int {
        var count = 0
        var inEscape = false
        for character in text {
            if character == "\u{1B}" { inEscape = true } else if inEscape { if character == "m" { inEscape = false } } else { count += 1 }
        }
        return count
    }

    func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { Self.visibleCount($0[column]) }.max() ?? 0 }
        let lines = all.enumerated().map { index, row in
            let cells = row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - Self.visibleCount(cell))
            }
            let line = cells.joined(separator: "  ")
            return index == 0 && Self.colour ? "\u{1B}[1m\(line)\u{1B}[0m" : line
        }
        return lines.joined(separator: "\n")
    }
}

/// Prints a value as JSON for scripts.
func printJSON(_ value: some Encodable) throws {
    print(String(decoding: try WireCoding.makeEncoder().encode(value), as: UTF8.self))
}
