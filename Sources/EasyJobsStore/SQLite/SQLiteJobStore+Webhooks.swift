import EasyJobsCore
import Foundation
import GRDB

/// The webhook outbox on SQLite: taking is one `UPDATE … RETURNING` in the writer, so two
/// dispatchers never take one delivery while its lease runs.
extension SQLiteJobStore {
    public func takeWebhooks(now: Date, limit: Int, lease: TimeInterval) async throws -> [WebhookDelivery] {
        try await write("take webhook deliveries") { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        UPDATE webhook_deliveries SET attempts = attempts + 1, next_at = ?
                        WHERE id IN (
                            SELECT id FROM webhook_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL AND next_at <= ?
                            ORDER BY next_at LIMIT ?)
                        RETURNING id, job_id, url, attempts, delivered_at, failed_at, last_error
                        """), arguments: [now.addingTimeInterval(lease).timeIntervalSince1970, now.timeIntervalSince1970, limit])
            return try rows.map { row in
                var delivery = Self.delivery(row)
                delivery.job = try Self.fetchJobs(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", arguments: [delivery.jobID])
                    .first?.job
                return delivery
            }.sorted { $0.id < $1.id }
        }
    }

    public func settleWebhook(id: Int64, delivered: Bool, error: String?, retryAt: Date?, now: Date) async throws {
        try await write("settle a webhook delivery", context: ["delivery": "\(id)"]) { db in
            if delivered {
                try db.execute(
                    sql: "UPDATE webhook_deliveries SET delivered_at = ?, last_error = NULL WHERE id = ?", arguments: [now.timeIntervalSince1970, id])
            } else if let retryAt {
                try db.execute(
                    sql: "UPDATE webhook_deliveries SET next_at = ?, last_error = ? WHERE id = ?",
                    arguments: [retryAt.timeIntervalSince1970, error, id])
            } else {
                try db.execute(
                    sql: "UPDATE webhook_deliveries SET failed_at = ?, last_error = ? WHERE id = ?",
                    arguments: [now.timeIntervalSince1970, error, id])
            }
        }
    }

    public func webhookDeliveries(of jobID: String) async throws -> [WebhookDelivery] {
        try await read("read webhook deliveries", context: ["job_id": jobID]) { db in
            try Row.fetchAll(
                db, sql: "SELECT id, job_id, url, attempts, delivered_at, failed_at, last_error FROM webhook_deliveries WHERE job_id = ? ORDER BY id",
                arguments: [jobID]
            ).map(Self.delivery)
        }
    }

    static func delivery(_ row: Row) -> WebhookDelivery {
        WebhookDelivery(
            id: row["id"], jobID: row["job_id"], url: row["url"], attempts: row["attempts"],
            deliveredAt: (row["delivered_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            failedAt: (row["failed_at"] as Double?).map(Date.init(timeIntervalSince1970:)), lastError: row["last_error"])
    }
}
