import AsyncHTTPClient
import Crypto
import EasyJobsCore
import EasyJobsStore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Sends the outcomes of ended jobs to their webhooks: takes due deliveries from the store's
/// outbox, POSTs each, and settles it (sent on a 2xx answer; else tried again after a backoff
/// that doubles from 1 s up to an hour, and given up after `maxAttempts`).
///
/// Each request is signed as Stripe signs its webhooks: `EasyJobs-Signature: t=<unix time>,
/// v1=<hex HMAC-SHA256 of "<t>.<body>" under the webhook secret>`, so a receiver checks both
/// that the manager sent it and that it is recent. `EasyJobs-Delivery` carries the delivery's
/// id, the same on every attempt, for receivers to drop repeats.
///
/// ```swift
/// let dispatcher = WebhookDispatcher(store: store, secret: "s3cret", maxAttempts: 8, logger: logger)
/// ```
struct WebhookDispatcher: Service {
    let store: any ManagerStore
    let secret: String
    let maxAttempts: Int
    let logger: Logger

    /// How often the outbox is read when the last round found nothing.
    static let idleInterval = Duration.milliseconds(250)
    /// A taken delivery is another taker's again after this, if this one died sending it.
    static let lease: TimeInterval = 60
    static let timeout = TimeAmount.seconds(10)

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var sent = 0
            do {
                let due = try await store.takeWebhooks(now: .now, limit: 32, lease: Self.lease)
                sent = due.count
                await withTaskGroup(of: Void.self) { group in
                    for delivery in due { group.addTask { await deliver(delivery) } }
                }
            } catch {
                logger.error("cannot read the webhook outbox: \(error)")
            }
            if sent == 0 { try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.idleInterval) } }
        }
    }

    func deliver(_ delivery: WebhookDelivery) async {
        let body = Self.payload(delivery).encoded()
        let timestamp = Int(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "EasyJobs-Webhook")
        request.headers.add(name: "EasyJobs-Delivery", value: "\(delivery.id)")
        request.headers.add(name: "EasyJobs-Signature", value: "t=\(timestamp),v1=\(Self.signature(body, timestamp: timestamp, secret: secret))")
        request.body = .bytes(ByteBuffer(bytes: body))
        var failure: String?
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: Self.timeout)
            _ = try? await response.body.collect(upTo: 64 << 10)
            if !(200..<300).contains(response.status.code) { failure = "the receiver answered \(response.status.code)" }
        } catch {
            failure = "cannot reach the receiver: \(error)"
        }
        let retryAt: Date? =
            delivery.attempts < maxAttempts ? Date().addingTimeInterval(min(pow(2, Double(delivery.attempts - 1)), 3_600)) : nil
        do {
            try await store.settleWebhook(id: delivery.id, delivered: failure == nil, error: failure, retryAt: retryAt, now: .now)
        } catch {
            logger.error("cannot record a webhook delivery: \(error)", metadata: ["job_id": "\(delivery.jobID)"])
        }
        if let failure {
            logger.warning(
                "webhook not delivered: \(failure)",
                metadata: [
                    "job_id": "\(delivery.jobID)", "attempt": "\(delivery.attempts)",
                    "next": "\(retryAt.map { "in \(Int($0.timeIntervalSinceNow.rounded())) s" } ?? "given up")",
                ])
        }
    }

    /// The outcome as the receiver gets it.
    static func payload(_ delivery: WebhookDelivery) -> JSONValue {
        guard let job = delivery.job else {
            return ["delivery_id": .int(Int(delivery.id)), "request_id": .string(delivery.jobID), "status": "deleted"]
        }
        var payload: [String: JSONValue] = [
            "delivery_id": .int(Int(delivery.id)), "request_id": .string(job.id), "queue": .string(job.queue), "task": .string(job.task),
            "status": .string(job.status.rawValue), "attempts": .int(job.attempts),
        ]
        if let result = job.result { payload["result"] = result }
        if let error = job.error, job.status != .completed { payload["error"] = .string(error) }
        if let finished = job.finishedAt { payload["finished_at"] = .string(WireCoding.format(finished)) }
        return .object(payload)
    }

    /// Hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
    static func signature(_ body: Data, timestamp: Int, secret: String) -> String {
        let key = SymmetricKey(data: Data(secret.utf8))
        return HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).".utf8) + body, using: key).hexEncoded
    }
}
