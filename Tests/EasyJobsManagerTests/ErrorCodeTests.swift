import EasyJobsCore
import EasyJobsStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Error codes say what happened (issue 15): asking for what a job's status does not allow now is
/// a conflict (409 `job_state_conflict`), not an argument error, and the job is left as it was.
@Suite struct ErrorCodeTests {
    static func error(_ response: TestResponse) throws -> (code: String?, message: String?) {
        let body = try JSONValue.decode(Data(buffer: response.body))
        return (body["error"]?["code"]?.stringValue, body["error"]?["message"]?.stringValue)
    }

    @Test(arguments: ["retry", "discard"]) func aQueuedJobCannotBeRetriedOrDiscardedAndStaysQueued(_ action: String) async throws {
        let id = Job.newID()
        try await ManagerFixture.withManager(prepare: { store in
            try await store.enqueue([NewJob(id: id, queue: "q", task: "t", args: [:])])
        }) { client in
            let response = try await client.execute(uri: "/job/\(action)?request_id=\(id)", method: .post, headers: [:], body: nil)
            #expect(response.status == .conflict)
            let (code, message) = try Self.error(response)
            #expect(code == "job_state_conflict")
            #expect(message?.contains("job '\(id)' is queued") == true, "\(message ?? "")")
            let view = try await client.execute(uri: "/job/view/result?request_id=\(id)", method: .get, headers: [:], body: nil)
            #expect(try JSONValue.decode(Data(buffer: view.body))["status"] == "queued")
        }
    }

    @Test func anUnknownJobIsNotFound() async throws {
        try await ManagerFixture.withManager { client in
            let response = try await client.execute(uri: "/job/retry?request_id=nope", method: .post, headers: [:], body: nil)
            #expect(response.status == .notFound)
            #expect(try Self.error(response).code == "job_not_found")
        }
    }
}
