import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

/// `POST /{queue}/tasks`: many jobs in one request and one transaction, against a real manager
/// and host.
@Suite(.serialized) struct BatchEnqueueTests {
    @Test func aBatchStoresEveryJobAndAnswersTheirIdsInOrder() async throws {
        try await withCluster { cluster in
            try await cluster.startHost(name: "batch", queue: "test", plugins: ["TestTasks"])
            let client = cluster.client
            let items: [BatchEnqueueItem] = (0..<50).map { index in
                index % 2 == 0
                    ? BatchEnqueueItem(task: "add", arguments: ["a": .int(index), "b": 1])
                    // The call envelope works in a batch as in a single enqueue.
                    : BatchEnqueueItem(task: "add", arguments: ["args": [.int(index), 2]])
            }
            let ids = try await client.enqueueBatch(queue: "test", jobs: items)
            #expect(ids.count == 50)
            #expect(Set(ids).count == 50)
            for (index, id) in ids.enumerated() {
                let result = try await client.pullResult(id: id, wait: 20)
                #expect(result == .completed(.int(index + (index % 2 == 0 ? 1 : 2))), "job \(index)")
            }

            // A pipeline task in a batch gets its dependencies as a single enqueue does.
            let piped = try await client.enqueueBatch(queue: "test", jobs: [BatchEnqueueItem(task: "noop"), BatchEnqueueItem(task: "chain_first")])
            #expect(piped.count == 2)
            let chain = try await client.pullResult(id: piped[1], wait: 20)
            #expect(chain == .completed(["step": 1]))
            try await waitUntil("the chain's last step completes") {
                try await client.graph(id: piped[1]).jobs.contains { $0.task == "chain_third" && $0.status == .completed }
            }
            let last = try await client.graph(id: piped[1]).jobs.first { $0.task == "chain_third" }
            #expect(last?.result == .int(3))
        }
    }

    @Test func oneBadJobRefusesTheWholeBatchAndNamesIt() async throws {
        try await withCluster(managerArguments: ["--max-batch-jobs", "20"]) { cluster in
            try await cluster.startHost(name: "batch", queue: "test", plugins: ["TestTasks"])
            let before = try await cluster.jobCount()

            let wrongType = try await cluster.request(
                .POST, "/test/tasks",
                body: #"[{"task": "add", "arguments": {"a": 1, "b": 2}}, {"task": "noop"}, {"task": "add", "arguments": {"a": "one", "b": 2}}]"#)
            #expect(wrongType.0 == 422)
            #expect(wrongType.1?["error"]?["code"] == "invalid_arguments")
            #expect(wrongType.1?["error"]?["context"]?["index"] == "2")
            #expect(wrongType.1?["error"]?["message"]?.stringValue?.contains("job 2 of the batch (task 'add')") == true)
            #expect(wrongType.1?["error"]?["message"]?.stringValue?.contains("argument 'a' must be int, got string") == true)

            let unknown = try await cluster.request(.POST, "/test/tasks", body: #"[{"task": "noop"}, {"task": "nope"}]"#)
            #expect(unknown.0 == 404)
            #expect(unknown.1?["error"]?["context"]?["index"] == "1")

            let notAnArray = try await cluster.request(.POST, "/test/tasks", body: #"{"task": "noop"}"#)
            #expect(notAnArray.0 == 400)
            #expect(notAnArray.1?["error"]?["message"]?.stringValue?.contains("a JSON array") == true)

            let noTask = try await cluster.request(.POST, "/test/tasks", body: #"[{"task": "noop"}, {"arguments": {}}]"#)
            #expect(noTask.0 == 400)
            #expect(noTask.1?["error"]?["context"]?["index"] == "1")

            let unknownField = try await cluster.request(.POST, "/test/tasks", body: #"[{"task": "noop", "args": {}}]"#)
            #expect(unknownField.0 == 400)
            #expect(unknownField.1?["error"]?["message"]?.stringValue?.contains("unknown field 'args'") == true)

            let empty = try await cluster.request(.POST, "/test/tasks", body: "[]")
            #expect(empty.0 == 400)

            let tooMany = try await cluster.request(
                .POST, "/test/tasks", body: "[" + Array(repeating: #"{"task": "noop"}"#, count: 21).joined(separator: ",") + "]")
            #expect(tooMany.0 == 413)
            #expect(tooMany.1?["error"]?["context"]?["limit"] == "20")

            let unserved = try await cluster.request(.POST, "/other/tasks", body: #"[{"task": "noop"}]"#)
            #expect(unserved.0 == 404)

            // Nothing of any refused batch was stored.
            #expect(try await cluster.jobCount() == before)
            // The limit itself is accepted.
            let full = try await cluster.request(
                .POST, "/test/tasks", body: "[" + Array(repeating: #"{"task": "noop"}"#, count: 20).joined(separator: ",") + "]")
            #expect(full.0 == 200)
            #expect(full.1?["request_ids"]?.arrayValue?.count == 20)
            #expect(try await cluster.jobCount() == before + 20)
        }
    }
}
