import Foundation
import GRDB

extension SQLiteJobStore: ClaimPlanning {
    /// SQLite's plan (`EXPLAIN QUERY PLAN`) for the row selection of
    /// ``claim(queue:tasks:hostID:limit:leaseDuration:now:)``: what shows that each task's jobs
    /// come from `jobs_claim_task` and not from a walk of the whole queue. Nothing runs: SQLite
    /// only plans. One line per node, indented two spaces per level, as the sqlite3 shell
    /// draws it.
    public func claimPlan(queue: String, tasks: Set<String>, limit: Int, now: Date) async throws -> [String] {
        guard !tasks.isEmpty else { return [] }
        let selection = SQLiteClaimQuery(queue: queue, tasks: tasks, limit: max(limit, 1), now: now)
        return try await read("explain a claim", context: ["queue": queue]) { db in
            // Rows are (id, parent, notused, detail), parents before their children.
            var depth: [Int: Int] = [0: -1]
            var lines: [String] = []
            for row in try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + selection.sql, arguments: selection.arguments) {
                let id: Int = row["id"]
                let level = (depth[row["parent"]] ?? -1) + 1
                depth[id] = level
                lines.append(String(repeating: "  ", count: level) + (row["detail"] as String))
            }
            return lines
        }
    }
}
