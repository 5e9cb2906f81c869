import EasyJobsCore
import Foundation
import GRDB

/// How a job row is read back into a `Job`.
extension SQLiteJobStore {
    /// The columns a job is read from, in the order `jobColumns` selects them: a row is read by
    /// position (no name lookup per value), and the position cannot drift from the name, which
    /// is the case's name in snake case. Add a column here and it is selected and read at once.
    enum JobColumn: Int, CaseIterable {
        case seq
        case id
        case queue
        case task
        case args
        case status
        case attempts
        case result
        case error
        case createdAt
        case startedAt
        case finishedAt
        case hostId
        case leaseExpiresAt
        case pulledAt
        case origin
        case parentId
        case maxAttempts
        case runAt
        case dependencies
        case cancelRequested
        case pluginName
        case pluginVersion
        case pluginSha256
        case scheduledFor
        case lease
        case lostLeases
        case priority
        case expiresAt
        case progress
        case progressMessage
        case webhookUrl

        /// Its name in SQL.
        var name: String {
            String(describing: self).reduce(into: "") { name, character in
                name += character.isUppercase ? "_" + character.lowercased() : String(character)
            }
        }
    }

    static let jobColumns = JobColumn.allCases.map(\.name).joined(separator: ", ")

    static func fetchJobs(_ db: Database, sql: String, arguments: StatementArguments) throws -> [(seq: Int64, job: Job)] {
        try fetchJobs(try db.cachedStatement(sql: sql), arguments: arguments)
    }

    /// The jobs `statement` selects or returns, read as ``jobColumns`` lists them.
    static func fetchJobs(_ statement: Statement, arguments: StatementArguments) throws -> [(seq: Int64, job: Job)] {
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        var jobs: [(seq: Int64, job: Job)] = []
        while let row = try rows.next() {
            jobs.append(try decodeJob(row))
        }
        return jobs
    }

    static func decodeJob(_ row: Row) throws -> (seq: Int64, job: Job) {
        // StatementColumnConvertible picks GRDB's fast path (the sqlite3_column_* call itself);
        // with DatabaseValueConvertible alone every column went through a DatabaseValue and a
        // generic metadata lookup: 5 % of the manager's time in a batched run.
        func value<T: DatabaseValueConvertible & StatementColumnConvertible>(_ column: JobColumn) throws -> T {
            try row.decode(atIndex: column.rawValue)
        }
        func optional<T: DatabaseValueConvertible & StatementColumnConvertible>(_ column: JobColumn) throws -> T? {
            try row.decode(atIndex: column.rawValue)
        }
        func date(_ column: JobColumn) throws -> Date? { (try optional(column) as Double?).map { Date(timeIntervalSince1970: $0) } }
        let id: String = try value(.id)
        let args: String = try value(.args)
        guard case .object(let arguments) = try JSONValue.parse(args) else {
            throw EasyJobsError(.storeFailure, "The stored arguments of job '\(id)' are not a JSON object", context: ["job_id": id])
        }
        let statusText: String = try value(.status)
        guard let status = JobStatus(rawValue: statusText) else {
            throw EasyJobsError(.storeFailure, "Job '\(id)' has an unknown status '\(statusText)'", context: ["job_id": id])
        }
        let result: String? = try optional(.result)
        let runAt: Double = try value(.runAt)
        let pluginName: String? = try optional(.pluginName)
        var job = Job(
            id: id,
            queue: try value(.queue),
            task: try value(.task),
            args: arguments,
            status: status,
            attempts: try value(.attempts),
            result: try result.map(JSONValue.parse),
            error: try optional(.error),
            createdAt: Date(timeIntervalSince1970: try value(.createdAt)),
            startedAt: try date(.startedAt),
            finishedAt: try date(.finishedAt),
            hostID: try optional(.hostId),
            leaseExpiresAt: try date(.leaseExpiresAt),
            pulledAt: try date(.pulledAt),
            origin: JobOrigin(JobOrigin.Kind(rawValue: try value(.origin)) ?? .api, parent: try optional(.parentId)),
            maxAttempts: try optional(.maxAttempts),
            runAt: runAt > 0 ? Date(timeIntervalSince1970: runAt) : nil,
            dependencies: try value(.dependencies),
            cancelRequested: try value(.cancelRequested),
            plugin: try pluginName.map {
                PluginRef(name: $0, version: try optional(.pluginVersion) ?? "", sha256: try optional(.pluginSha256) ?? "")
            },
            scheduledFor: try date(.scheduledFor),
            lease: try value(.lease),
            lostLeases: try value(.lostLeases),
            priority: try value(.priority),
            expiresAt: try date(.expiresAt)
        )
        job.progress = try optional(.progress)
        job.progressMessage = try optional(.progressMessage)
        job.webhookURL = try optional(.webhookUrl)
        return (try value(.seq), job)
    }

    /// The columns a claim returns, in the order ``decodeClaimedRun(_:)`` reads them.
    static let claimedRunColumns: [JobColumn] = [
        .seq, .id, .queue, .task, .args, .attempts, .lease, .leaseExpiresAt, .createdAt, .runAt, .dependencies, .priority,
    ]
    static let claimedRunSelection = claimedRunColumns.map(\.name).joined(separator: ", ")
    /// Where each job column stands in a claim's row, by the column's raw value (-1: not returned).
    private static let claimedRunPositions = JobColumn.allCases.map { claimedRunColumns.firstIndex(of: $0) ?? -1 }

    static func decodeClaimedRun(_ row: Row) throws -> (seq: Int64, run: ClaimedRun) {
        func value<T: DatabaseValueConvertible & StatementColumnConvertible>(_ column: JobColumn) throws -> T {
            try row.decode(atIndex: claimedRunPositions[column.rawValue])
        }
        let id: String = try value(.id)
        let args: String = try value(.args)
        guard case .object(let arguments) = try JSONValue.parse(args) else {
            throw EasyJobsError(.storeFailure, "The stored arguments of job '\(id)' are not a JSON object", context: ["job_id": id])
        }
        let runAt: Double = try value(.runAt)
        let run = ClaimedRun(
            id: id, queue: try value(.queue), task: try value(.task), args: arguments, attempts: try value(.attempts), lease: try value(.lease),
            leaseExpiresAt: Date(timeIntervalSince1970: try value(.leaseExpiresAt)), createdAt: Date(timeIntervalSince1970: try value(.createdAt)),
            runAt: runAt > 0 ? Date(timeIntervalSince1970: runAt) : nil, dependencies: try value(.dependencies), priority: try value(.priority))
        return (try value(.seq), run)
    }

    static func encodeJSON(_ value: some Encodable) throws -> String {
        try StoredJSON.encode(value)
    }
}
