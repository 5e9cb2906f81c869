import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

/// Every bad request gets the right status, a message naming the problem, and changes nothing.
@Suite(.serialized) struct BadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var method: String
        var path: String
        var body: String?
        var headers: [String: String] = [:]
        var status: Int
        var code: String
        var messageContains: String
        var testDescription: String { name }
    }

    static let token = "client-token"
    static let auth = ["Authorization": "Bearer \(token)"]

    static let cases: [Case] = [
        Case(
            name: "malformed JSON", method: "POST", path: "/test/task/add", body: #"{"a": 1,"#, headers: auth,
            status: 400, code: "malformed_request", messageContains: "request body is not valid JSON"),
        Case(
            name: "wrong argument type", method: "POST", path: "/test/task/add", body: #"{"a": "one", "b": 2}"#, headers: auth,
            status: 422, code: "invalid_arguments", messageContains: "argument 'a' must be int, got string"),
        Case(
            name: "missing required argument", method: "POST", path: "/test/task/add", body: #"{"a": 1}"#, headers: auth,
            status: 422, code: "invalid_arguments", messageContains: "missing required argument 'b' (int)"),
        Case(
            name: "arguments not an object", method: "POST", path: "/test/task/add", body: "[1, 2]", headers: auth,
            status: 422, code: "invalid_arguments", messageContains: "as a JSON object, got array"),
        Case(
            name: "unknown queue", method: "POST", path: "/nope/task/add", body: "{}", headers: auth,
            status: 404, code: "unknown_queue", messageContains: "unknown queue 'nope'"),
        Case(
            name: "unknown task", method: "POST", path: "/test/task/nope", body: "{}", headers: auth,
            status: 404, code: "unknown_task", messageContains: "unknown task 'nope' in queue 'test'"),
        Case(
            name: "body over the limit", method: "POST", path: "/test/task/echo",
            body: #"{"value": ""# + String(repeating: "x", count: 5000) + #""}"#, headers: auth,
            status: 413, code: "payload_too_large", messageContains: "over the limit of 4096 bytes"),
        Case(
            name: "missing token", method: "POST", path: "/test/task/add", body: #"{"a": 1, "b": 2}"#,
            status: 401, code: "unauthorized", messageContains: "Authorization: Bearer"),
        Case(
            name: "wrong token", method: "POST", path: "/test/task/add", body: #"{"a": 1, "b": 2}"#, headers: ["Authorization": "Bearer wrong"],
            status: 403, code: "forbidden", messageContains: "API token is wrong"),
        Case(
            name: "missing secret", method: "POST", path: "/hosts/claim", body: #"{"host_id": "x", "max": 1, "wait": 0}"#,
            status: 401, code: "unauthorized", messageContains: "X-EasyJobs-Secret"),
        Case(
            name: "wrong secret", method: "POST", path: "/hosts/claim", body: #"{"host_id": "x", "max": 1, "wait": 0}"#,
            headers: ["X-EasyJobs-Secret": "guess"], status: 403, code: "forbidden", messageContains: "secret in X-EasyJobs-Secret is wrong"),
        Case(
            name: "malformed host request", method: "POST", path: "/hosts/register", body: #"{"max": 1}"#,
            headers: ["X-EasyJobs-Secret": "test-secret"], status: 400, code: "malformed_request", messageContains: "missing field 'host_id'"),
        Case(
            name: "queue weight out of range", method: "POST", path: "/hosts/register",
            body:
                #"{"host_id": "w", "name": "w", "queue": "a", "queues": [{"name": "a", "weight": 0}], "max_tasks": 1, "plugins": [], "refused": []}"#,
            headers: ["X-EasyJobs-Secret": "test-secret"], status: 422, code: "invalid_arguments",
            messageContains: "the weight of queue 'a' must be from 1 to 1000, got 0"),
        Case(
            name: "queue listed twice", method: "POST", path: "/hosts/register",
            body:
                #"{"host_id": "w", "name": "w", "queue": "a", "queues": [{"name": "a", "weight": 2}, {"name": "a", "weight": 1}], "max_tasks": 1, "plugins": [], "refused": []}"#,
            headers: ["X-EasyJobs-Secret": "test-secret"], status: 422, code: "invalid_arguments", messageContains: "queue 'a' is listed twice"),
        Case(
            name: "host request without a session", method: "POST", path: "/hosts/claim", body: #"{"host_id": "x", "max": 1, "wait": 0}"#,
            headers: ["X-EasyJobs-Secret": "test-secret"], status: 401, code: "unauthorized", messageContains: "X-EasyJobs-Session"),
        Case(
            name: "host request with a forged session", method: "POST", path: "/hosts/claim", body: #"{"host_id": "x", "max": 1, "wait": 0}"#,
            headers: ["X-EasyJobs-Secret": "test-secret", "X-EasyJobs-Session": "forged.x"], status: 401, code: "session_invalid",
            messageContains: "register again"),
        Case(
            name: "nested too deep", method: "POST", path: "/test/task/typed",
            body: String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
            headers: auth, status: 400, code: "malformed_request", messageContains: "deeper than 64 levels"),
        Case(
            name: "unknown job", method: "GET", path: "/job/view/result?request_id=missing", headers: auth,
            status: 404, code: "job_not_found", messageContains: "no job with request id 'missing'"),
        Case(
            name: "no such endpoint", method: "GET", path: "/nothing/here", headers: auth,
            status: 404, code: "not_found", messageContains: "no endpoint GET /nothing/here"),
    ]

    @Test(arguments: cases)
    func badRequestIsRefusedAndChangesNothing(_ testCase: Case) async throws {
        try await withCluster(apiToken: Self.token, managerArguments: ["--max-body", "4096"]) { cluster in
            try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            let before = try await cluster.jobCount()

            let (status, body) = try await cluster.request(
                .init(rawValue: testCase.method), testCase.path, body: testCase.body, headers: testCase.headers)
            #expect(status == testCase.status)
            #expect(body?["error"]?["code"]?.stringValue == testCase.code)
            let message = body?["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains(testCase.messageContains), "message was: \(message)")

            #expect(try await cluster.jobCount() == before)
            // The manager still works.
            let id = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": 1, "b": 2])
            #expect(try await cluster.client.pullResult(id: id, wait: 20) == .completed(3))
        }
    }

    @Test func theManagerRefusesANonLoopbackAddressWithoutASecret() async throws {
        let process = try ChildProcess(
            label: "manager", arguments: ["manager", "--host", "0.0.0.0", "--port", "0", "--data-dir", NSTemporaryDirectory() + "ej-\(UUID())"])
        process.process.waitUntilExit()
        #expect(process.process.terminationStatus != 0)
        #expect(process.stderr.contains("refusing to listen on 0.0.0.0 without a secret"))
    }
}
