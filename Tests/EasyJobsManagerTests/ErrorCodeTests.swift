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

/// Pausing a host by a name no host has is refused, and pauses nothing (issue 15: it was
/// accepted and kept, a typo that silently paused nothing).
@Suite struct PauseTargetTests {
    @Test func aHostNameNoHostHasIsNotFoundAndNothingIsPaused() async throws {
        try await ManagerFixture.withManager { client in
            let response = try await client.execute(uri: "/control/hosts/nobody/pause", method: .post, headers: [:], body: nil)
            #expect(response.status == .notFound)
            let body = try JSONValue.decode(Data(buffer: response.body))
            #expect(body["error"]?["code"] == "host_not_found")
            #expect(body["error"]?["message"] == "no host named 'nobody' has registered")
            let paused = try await client.execute(uri: "/control/paused", method: .get, headers: [:], body: nil)
            #expect(try JSONValue.decode(Data(buffer: paused.body)) == ["hosts": [], "queues": []])
        }
    }

    /// A queue may be paused before any host serves it (jobs can wait in it with queue_anyway).
    @Test func aQueueMayBePausedBeforeItIsServed() async throws {
        try await ManagerFixture.withManager { client in
            let response = try await client.execute(uri: "/control/queues/later/pause", method: .post, headers: [:], body: nil)
            #expect(response.status == .ok)
            #expect(try JSONValue.decode(Data(buffer: response.body))["queues"] == ["later"])
        }
    }
}
