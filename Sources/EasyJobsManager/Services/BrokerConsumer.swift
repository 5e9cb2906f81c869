import EasyJobsAMQP
import EasyJobsCore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Takes jobs from RabbitMQ, as the Python EasyJobs' broker does: a message
/// `{"job": {"name", "args", "kwargs"}}` on the queue named after a namespace (our queue) is a
/// job of that task. A message is acknowledged only once its job is committed, so a manager
/// that dies meanwhile leaves it to the broker to deliver again; a message that can never be a
/// job (not JSON, an unknown task, arguments that do not fit) is refused without requeueing,
/// with the reason logged.
struct BrokerConsumer: Service {
    let coordinator: Coordinator
    let options: RabbitMQOptions
    let logger: Logger

    func run() async throws {
        await withDiscardingTaskGroup { group in
            for queue in options.queues {
                group.addTask { await consume(queue) }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    private func consume(_ queue: String) async {
        let durable = options.durable
        let consumer = AMQPConsumer(
            url: options.url, queue: queue, prefetchCount: 64, connectionName: "easyjobs-manager", logger: logger
        ) { channel in
            try await channel.queueDeclare(name: queue, durable: durable, autoDelete: !durable)
        }
        do {
            for try await delivery in consumer.deliveries() {
                await handle(delivery, queue: queue)
            }
        } catch is CancellationError {
        } catch {
            if !Task.isCancelled { logger.error("RabbitMQ queue '\(queue)': \(error)") }
        }
    }

    private func handle(_ delivery: AMQPDelivery, queue: String) async {
        let job: (task: String, arguments: JSONValue)
        do {
            job = try Self.job(from: delivery.body, queue: queue, registry: coordinator.registry)
        } catch {
            logger.error("refused a RabbitMQ message: \(error.message)", metadata: ["queue": "\(queue)"])
            try? await delivery.nack(requeue: false)
            return
        }
        do {
            let created = try await coordinator.enqueue(queue: queue, task: job.task, arguments: job.arguments, origin: .api, queueAnyway: true)
            try await delivery.ack()
            logger.debug("job from RabbitMQ", metadata: ["job_id": "\(created.id)", "task": "\(job.task)", "queue": "\(queue)"])
        } catch let error as EasyJobsError where error.isRefusalOfInput {
            logger.error("refused a RabbitMQ message: \(error.message)", metadata: ["queue": "\(queue)"])
            try? await delivery.nack(requeue: false)
        } catch {
            // The store failed: the broker keeps the message for this or another manager.
            logger.warning("could not store a job from RabbitMQ, handing it back: \(error)", metadata: ["queue": "\(queue)"])
            try? await Task.sleep(for: .milliseconds(500))
            try? await delivery.nack(requeue: true)
        }
    }

    /// The task and keyword arguments of an EasyJobs broker message.
    static func job(from body: ByteBuffer, queue: String, registry: TaskRegistry) throws(EasyJobsError) -> (task: String, arguments: JSONValue) {
        let message = try JSONValue.decode(body.readableBytesView)
        guard let job = message["job"]?.objectValue, let name = job["name"]?.stringValue else {
            throw EasyJobsError(.malformedRequest, "a message must be {\"job\": {\"name\": …, \"args\": […], \"kwargs\": {…}}}")
        }
        let spec = try registry.spec(queue: queue, task: name)
        guard let positional = (job["args"] ?? .array([])).arrayValue, let keywords = (job["kwargs"] ?? .object([:])).objectValue else {
            throw EasyJobsError(.malformedRequest, "a job's args must be an array and its kwargs an object", context: ["task": name])
        }
        return (name, .object(try spec.arguments(positional: positional, keywords: keywords)))
    }
}

/// Where the manager takes jobs from RabbitMQ.
public struct RabbitMQOptions: Sendable {
    /// `amqp://user:password@host:port/vhost`.
    public var url: String
    /// The queues (namespaces) consumed; each RabbitMQ queue is named after its namespace.
    public var queues: [String]
    /// Durable queues (the default) keep messages across a broker restart; `false` declares them
    /// as the Python EasyJobs' broker does (not durable, auto-deleted), to share its queues.
    public var durable: Bool

    public init(url: String, queues: [String], durable: Bool = true) {
        self.url = url
        self.queues = queues
        self.durable = durable
    }
}

extension EasyJobsError {
    /// Input that can never become a job, however often it is delivered.
    var isRefusalOfInput: Bool {
        [.malformedRequest, .invalidArguments, .unknownQueue, .unknownTask].contains(code)
    }
}
