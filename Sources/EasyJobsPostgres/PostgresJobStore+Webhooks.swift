import EasyJobsCore
import EasyJobsStore
import Foundation
import PostgresNIO

/// The webhook outbox on PostgreSQL: deliveries are taken `FOR UPDATE SKIP LOCKED` and leased,
/// so managers sharing the database send each delivery once while its lease runs.
extension PostgresJobStore {
    public func takeWebhooks(now: Date, limit: Int, lease: TimeInterval) async throws -> [WebhookDelivery] {
        try await transaction("take webhook deliveries") { connection in
            let rows = try await connection.query(
                """
                UPDATE webhook_deliveries SET attempts = attempts + 1, next_at = \(now.addingTimeInterval(lease).timeIntervalSince1970)
                WHERE id IN (
                    SELECT id FROM webhook_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL AND next_at <= \(now.timeIntervalSince1970)
                    ORDER BY next_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING id, job_id, url, attempts, delivered_at, failed_at, last_error
                """, logger: self.logger
            ).collect()
            var deliveries = try rows.map(Self.delivery)
            for index in deliveries.indices {
                deliveries[index].job = try await Self.fetchJobs(
                    connection, "SELECT \(unescaped: Self.jobColumns) FROM jobs WHERE id = \(deliveries[index].jobID)", logger: self.logger
                ).first?.job
            }
            return deliveries.sorted { $0.id < $1.id }
        }
    }

    public func settleWebhook(id: Int64, delivered: Bool, error: String?, retryAt: Date?, now: Date) async throws {
        let time = now.timeIntervalSince1970
        let message = error.map(Self.text)
        let query: PostgresQuery =
            if delivered {
                "UPDATE webhook_deliveries SET delivered_at = \(time), last_error = NULL WHERE id = \(id)"
            } else if let retryAt {
                "UPDATE webhook_deliveries SET next_at = \(retryAt.timeIntervalSince1970), last_error = \(message) WHERE id = \(id)"
            } else {
                "UPDATE webhook_deliveries SET failed_at = \(time), last_error = \(message) WHERE id = \(id)"
            }
        _ = try await self.query("settle a webhook delivery", context: ["delivery": "\(id)"], query)
    }

    public func webhookDeliveries(of jobID: String) async throws -> [WebhookDelivery] {
        try await query(
            "read webhook deliveries", context: ["job_id": jobID],
            "SELECT id, job_id, url, attempts, delivered_at, failed_at, last_error FROM webhook_deliveries WHERE job_id = \(jobID) ORDER BY id"
        ).map(Self.delivery)
    }

    static func delivery(_ row: PostgresRow) throws -> WebhookDelivery {
        let columns = Columns(row)
        return WebhookDelivery(
            id: try columns["id"], jobID: try columns["job_id"], url: try columns["url"], attempts: try columns["attempts"],
            deliveredAt: try columns.date("delivered_at"), failedAt: try columns.date("failed_at"), lastError: try columns["last_error"])
    }
}
