import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

/// The Python EasyJobs' users' requests, unchanged, against a live manager (issue 13): query
/// parameter and positional arguments everywhere, and with `--compat easyjobs` its read shapes
/// and `{"detail": …}` errors.
@Suite struct EasyJobsCompatibilityTests {
    @Test func theSeedsFlowAsEasyJobsUsersDriveIt() async throws {
        try await withCluster(managerArguments: ["--compat", "easyjobs"]) { cluster in
            try await cluster.startHost(name: "etl", queue: "ETL", plugins: ["ETL"], environment: EndToEndTests.fastETL)

            // POST /ETL/task/extract?url=http://stats, as FastAPI takes a simple parameter.
            let (status, enqueued) = try await cluster.request(.POST, "/ETL/task/extract?url=http%3A%2F%2Fstats")
            #expect(status == 200)
            let id = try #require(enqueued?["request_id"]?.stringValue)

            // view/result: the job row while it runs, the result row once finished (not consumed).
            let (_, early) = try await cluster.request(.GET, "/job/view/result?request_id=\(id)")
            #expect(early?["job_id"]?.stringValue == id)
            #expect(early?["results"] != nil || early?["namespace"]?.stringValue == "ETL")
            try await waitUntil("extract finishes") {
                try await cluster.request(.GET, "/job/view/result?request_id=\(id)").1?["results"] != nil
            }
            let (_, row) = try await cluster.request(.GET, "/job/view/result?request_id=\(id)")
            #expect(row == ["job_id": .string(id), "results": ["data": ["a": 1, "b": 2, "c": 3]]])
            let (_, results) = try await cluster.request(.GET, "/job/view/results")
            #expect(results?.arrayValue?.contains { $0["job_id"]?.stringValue == id } == true)

            // pull/result: the bare result, consumed; then gone as EasyJobs says it.
            let (pulled, result) = try await cluster.request(.GET, "/job/pull/result?request_id=\(id)")
            #expect(pulled == 200 && result == ["data": ["a": 1, "b": 2, "c": 3]])
            let (_, again) = try await cluster.request(.GET, "/job/view/result?request_id=\(id)")
            #expect(again == .string("no job matching request_id \(id)"))

            // The pipeline task, which calls compute and waits for it.
            let (_, pipeline) = try await cluster.request(.POST, "/ETL/task/pipeline")
            let pipelineID = try #require(pipeline?["request_id"]?.stringValue)
            let (_, piped) = try await cluster.request(.GET, "/job/pull/result?request_id=\(pipelineID)&wait=30")
            // (The test shortens the seed's 5 s sleeps to 0.05 s.)
            #expect(piped == ["result": "I slept for 0.05 seconds - blocking - with data", "test": "data"])

            // Running and queued views with EasyJobs' filters, in its job-row shape.
            let (_, queued) = try await cluster.request(.GET, "/job/view/queued?namespace=ETL")
            #expect(queued?.arrayValue != nil)
            let (_, running) = try await cluster.request(.GET, "/job/view/running?namespace=ETL&name=compute")
            for job in running?.arrayValue ?? [] { #expect(job["name"] == "compute" && job["namespace"] == "ETL") }

            // Errors as FastAPI words them: {"detail": …}, with the status.
            let (refused, detail) = try await cluster.request(.POST, "/ETL/task/transform", body: #"{"data": 5}"#)
            #expect(refused == 422)
            #expect(detail?["detail"]?.stringValue?.contains("argument 'data' must be object") == true)
            #expect(detail?["error"] == nil)
            let (missing, unknown) = try await cluster.request(.GET, "/job/pull/result?request_id=nope")
            #expect(missing == 200 && unknown == .string("No queued job with request_id nope found"))
        }
    }

    @Test func argumentsAsQueryParametersAndPositionally() async throws {
        try await withCluster { cluster in
            try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            let client = cluster.client
            // Query parameters read as their declared types (a double here).
            let (status, answer) = try await cluster.request(.POST, "/test/task/sleep?seconds=0.01")
            #expect(status == 200)
            let id = try #require(answer?["request_id"]?.stringValue)
            #expect(try await client.pullResult(id: id, wait: 20) == .completed(0.01))
            // A wrong type in the query is refused naming the parameter.
            let (bad, problem) = try await cluster.request(.POST, "/test/task/sleep?seconds=soon")
            #expect(bad == 422)
            #expect(problem?["error"]?["message"]?.stringValue?.contains("query parameter 'seconds' must be double, got 'soon'") == true)
            // Positional args and keyword kwargs, as a Python call binds them.
            let (_, positional) = try await cluster.request(.POST, "/test/task/sleep", body: #"{"args": [0.02]}"#)
            #expect(try await client.pullResult(id: try #require(positional?["request_id"]?.stringValue), wait: 20) == .completed(0.02))
            let (twice, clash) = try await cluster.request(.POST, "/test/task/sleep", body: #"{"args": [0.02], "kwargs": {"seconds": 1}}"#)
            #expect(twice == 422)
            #expect(clash?["error"]?["message"]?.stringValue == "task 'sleep' got multiple values for argument 'seconds'")
            let (many, tooMany) = try await cluster.request(.POST, "/test/task/sleep", body: #"{"args": [1, 2]}"#)
            #expect(many == 422)
            #expect(tooMany?["error"]?["message"]?.stringValue == "task 'sleep' takes 1 positional argument but 2 were given")
            // Native shapes stay native without --compat.
            let (_, view) = try await cluster.request(.GET, "/job/view/result?request_id=\(id)")
            #expect(view?["error"]?["code"] == "result_consumed")
        }
    }
}
