import EasyJobsCore
import Foundation

/// The outbox of completion webhooks: a job that ends with a webhook URL queues a delivery in
/// the transaction that ends it, and the manager's dispatcher takes due deliveries, sends them
/// and settles each. A taker that dies mid-send leaves its deliveries due again when their
/// lease runs out, so a delivery is sent at least once (receivers dedupe by its id).
public protocol WebhookStore: Sendable {
    /// Takes up to `limit` due deliveries, oldest due first, for `lease` seconds, counting the
    /// attempt; another taker (another manager) does not get them meanwhile.
    func takeWebhooks(now: Date, limit: Int, lease: TimeInterval) async throws -> [WebhookDelivery]

    /// Records how a delivery went: sent (`delivered`); or not, to be tried again at `retryAt`,
    /// or given up for good when it is `nil`.
    func settleWebhook(id: Int64, delivered: Bool, error: String?, retryAt: Date?, now: Date) async throws

    /// Deliveries of a job, oldest first (for the job's view and tests).
    func webhookDeliveries(of jobID: String) async throws -> [WebhookDelivery]
}

/// One delivery of a job's outcome to its webhook.
public struct WebhookDelivery: Sendable, Hashable {
    public var id: Int64
    public var jobID: String
    public var url: String
    /// Attempts so far, the one being made included.
    public var attempts: Int
    public var deliveredAt: Date?
    public var failedAt: Date?
    public var lastError: String?
    /// The job as it ended; `nil` when it was deleted before the delivery was sent.
    public var job: Job?

    public init(
        id: Int64, jobID: String, url: String, attempts: Int, deliveredAt: Date? = nil, failedAt: Date? = nil, lastError: String? = nil,
        job: Job? = nil
    ) {
        self.id = id
        self.jobID = jobID
        self.url = url
        self.attempts = attempts
        self.deliveredAt = deliveredAt
        self.failedAt = failedAt
        self.lastError = lastError
        self.job = job
    }
}
