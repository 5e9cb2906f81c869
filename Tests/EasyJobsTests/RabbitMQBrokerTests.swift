import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The seed's RabbitMQ broker (issue 13): jobs published in the Python EasyJobs' shape, by
/// `easyjobs produce`, taken by a manager started with `--rabbitmq`, on a real RabbitMQ node
/// started by scripts/test.sh (scripts/rabbitmq.sh).
@Suite(.serialized) struct RabbitMQBrokerTests {
    static func broker() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["EASYJOBS_TEST_RABBITMQ"], !url.isEmpty else {
            throw TestFailure("EASYJOBS_TEST_RABBITMQ is not set: run scripts/test.sh, which starts a RabbitMQ node (scripts/rabbitmq.sh)")
        }
        return url
    }

    static func produce(_ broker: String, queue: String, task: String, json: String = "{}", args: String = "[]", count: Int = 1) async throws {
        let producer = try ChildProcess(
            label: "produce",
            arguments: [
                "produce", queue, task, "--json", json, "--args", args, "--count", "\(count)", "--rabbitmq", broker,
            ])
        try await producer.waitForExit()
        guard producer.process.terminationStatus == 0 else { throw TestFailure("produce failed: \(producer.stderr)") }
    }

    @Test func jobsPublishedToRabbitMQRunAndAManagerKilledMidwayLosesNone() async throws {
        let broker = try Self.broker()
        let queue = "rmq-\(UUID().uuidString.prefix(8).lowercased())"
        try await withCluster(managerArguments: ["--rabbitmq", broker, "--rabbitmq-queue", queue], port: try freePort()) { cluster in
            try await cluster.startHost(name: "tasks", queue: queue, plugins: ["TestTasks"])
            let client = cluster.client
            // Keyword and positional arguments, as the Python producer sends them.
            try await Self.produce(broker, queue: queue, task: "echo", json: #"{"value": "kw"}"#)
            try await Self.produce(broker, queue: queue, task: "sleep", args: "[0.01]")
            // A message that can never be a job is refused and does not hold up the others.
            try await Self.produce(broker, queue: queue, task: "no_such_task")
            try await Self.produce(broker, queue: queue, task: "echo", json: #"{"value": "after"}"#)
            try await waitUntil("the four good jobs complete", timeout: .seconds(60)) {
                try await client.stats(queue: queue)["completed", default: 0] >= 3
            }
            let results = Set(try await client.list(queue: queue, limit: 100).jobs.compactMap(\.result))
            #expect(results.isSuperset(of: [["value": "kw"], 0.01, ["value": "after"]]))
            #expect(cluster.manager.stderr.contains("refused a RabbitMQ message: unknown task 'no_such_task'"))

            // 300 jobs; the manager dies while taking them and comes back: none is lost.
            try await Self.produce(broker, queue: queue, task: "echo", json: #"{"value": "bulk"}"#, count: 300)
            try await waitUntil("the manager takes some", timeout: .seconds(60)) {
                try await client.stats(queue: queue)["completed", default: 0] >= 20
            }
            // Its port is free again once it is gone.
            await cluster.manager.stop(signal: SIGKILL)
            try await cluster.startManager()
            try await waitUntil("every published job completes", timeout: .seconds(120)) {
                try await client.stats(queue: queue)["completed", default: 0] >= 303
            }
            let completed = try await client.stats(queue: queue)["completed", default: 0]
            print(
                "rabbitmq: 300 published, manager SIGKILLed midway: \(completed - 3) completed (a message taken but not yet acknowledged when the manager died runs again)"
            )
        }
    }
}
