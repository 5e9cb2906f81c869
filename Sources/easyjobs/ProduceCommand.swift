import EasyJobsHostCLI
import ArgumentParser
import EasyJobsAMQP
import EasyJobsCore
import Foundation
import NIOCore

/// `easyjobs produce QUEUE TASK`: publishes a job to RabbitMQ in the Python EasyJobs' message
/// shape, for a manager started with `--rabbitmq` to take, and returns once the broker confirms it.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce", abstract: "Publish a job to RabbitMQ (as the Python EasyJobs producer does) for a manager to take.")

    @Argument(help: "The queue (namespace); the RabbitMQ queue of the same name.") var queue: String
    @Argument(help: "The task.") var task: String
    @Option(help: "Keyword arguments, a JSON object.") var json = "{}"
    @Option(help: "Positional arguments, a JSON array.") var args = "[]"
    @Option(help: "Messages to publish (the same job each time).") var count = 1
    @Option(help: "The broker: amqp://user:password@host:port/vhost (EASYJOBS_RABBITMQ).") var rabbitmq: String?
    @Flag(help: "Declare the queue as the Python EasyJobs does (not durable, auto-deleted).") var transient = false

    /// Publishes awaiting their confirms at once.
    static let confirmWindow = 128

    func run() async throws {
        do {
            guard case .object(let kwargs) = try JSONValue.parse(json) else { throw ValidationError("--json must be a JSON object") }
            guard case .array(let positional) = try JSONValue.parse(args) else { throw ValidationError("--args must be a JSON array") }
            let url = rabbitmq ?? Environment.value("EASYJOBS_RABBITMQ") ?? "amqp://guest:guest@127.0.0.1:5672/"
            let message = JSONValue.object(["job": ["name": .string(task), "args": .array(positional), "kwargs": .object(kwargs)]]).encoded()
            let connection = try await AMQPConnection.connect(url: url, connectionName: "easyjobs-produce")
            let channel = try await connection.openChannel()
            try await channel.queueDeclare(name: queue, durable: !transient, autoDelete: transient)
            try await channel.confirmSelect()
            // Up to `confirmWindow` publishes wait for their confirms together: the broker confirms
            // a persistent message once it is on disk, and one publish at a time waited for a
            // disk write per message.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<max(count, 1) {
                    if index >= Self.confirmWindow { try await group.next() }
                    group.addTask { try await channel.publish(routingKey: queue, body: ByteBuffer(bytes: message), persistent: !transient) }
                }
                try await group.waitForAll()
            }
            try await connection.close()
            print("published \(max(count, 1)) job(s) of \(queue)/\(task), confirmed by the broker")
        } catch let error as ValidationError {
            throw error
        } catch {
            fail(error)
        }
    }
}
