import EasyJobsCore
import Foundation
import Testing

/// The claim and report messages written and read by the project's own JSON code keep the
/// shape their `Codable` form has, so either side can be either version.
@Suite struct JSONMessageTests {
    let claim = ClaimResponse(jobs: [
        ClaimedJob(jobID: "a", task: "noop", args: [:], attempt: 1, lease: 1, leaseExpiresAt: Date(timeIntervalSince1970: 1_795_713_374.5)),
        // The queue matters to a host of several queues (its job's context says which); the
        // project's writer once left it out.
        ClaimedJob(
            jobID: "b", queue: "critical", task: "typed", args: ["text": "t", "n": 2, "x": 0.25, "list": [true, nil, ["k": "v"]]], attempt: 3,
            lease: 7,
            leaseExpiresAt: Date(timeIntervalSince1970: 1_795_713_400.125), dependencies: ["answer": 42], token: "secret-token"),
    ])

    let report = ReportRequest(
        hostID: "host-1",
        reports: [
            JobReport(
                jobID: "a", lease: 1, outcome: .completed(["data": [1, 2.5, "three"]]), plugin: PluginRef(name: "p", version: "1.0.0", sha256: "abc")),
            JobReport(jobID: "b", lease: 2, outcome: .failed("disk on fire")),
            JobReport(jobID: "c", lease: 3, outcome: .cancelled("cancelled by a user")),
            JobReport(jobID: "d", lease: 4, outcome: .completed(nil)),
        ])

    @Test func claimAnswersReadTheCodableShapeAndWriteIt() throws {
        let fromCodable = try ClaimResponse.decode(WireCoding.makeEncoder().encode(claim))
        #expect(fromCodable.jobs == claim.jobs)
        let toCodable = try WireCoding.makeDecoder().decode(ClaimResponse.self, from: claim.encoded())
        #expect(toCodable.jobs == claim.jobs)
    }

    @Test func reportsReadTheCodableShapeAndWriteIt() throws {
        let fromCodable = try ReportRequest.decode(WireCoding.makeEncoder().encode(report))
        #expect(fromCodable.hostID == "host-1")
        #expect(fromCodable.reports == report.reports)
        let toCodable = try WireCoding.makeDecoder().decode(ReportRequest.self, from: report.encoded())
        #expect(toCodable.reports == report.reports)
    }

    @Test func reportsThatClaimAndTheirAnswersKeepTheirShape() throws {
        var claiming = report
        claiming.claim = 3
        #expect(try ReportRequest.decode(claiming.encoded()).claim == 3)
        #expect(try WireCoding.makeDecoder().decode(ReportRequest.self, from: claiming.encoded()).claim == 3)
        // A report of an earlier host has no claim, and claims nothing.
        #expect(try ReportRequest.decode(WireCoding.makeEncoder().encode(report)).claim == 0)

        let answer = ReportResponse(accepted: 2, rejected: ["x"], jobs: claim.jobs)
        let read = try ReportResponse.decode(answer.encoded())
        #expect(read.accepted == 2 && read.rejected == ["x"] && read.jobs == claim.jobs)
        #expect(try WireCoding.makeDecoder().decode(ReportResponse.self, from: answer.encoded()).jobs == claim.jobs)
        // An earlier manager's answer has no jobs.
        #expect(try ReportResponse.decode(Data(#"{"accepted": 1, "rejected": []}"#.utf8)).jobs.isEmpty)
    }

    @Test func aReportThatClaimsANegativeNumberIsRefusedByName() {
        #expect {
            _ = try ReportRequest.decode(Data(#"{"host_id": "h", "reports": [], "claim": -1}"#.utf8))
        } throws: { error in
            (error as? EasyJobsError)?.message == "a report: 'claim' must be 0 or more, got -1"
        }
    }

    @Test func aMalformedMessageNamesTheFieldAndWhatWasExpected() {
        func message(_ text: String) -> String? {
            do {
                _ = try ReportRequest.decode(Array(text.utf8))
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message(#"{"reports": []}"#) == "a report: 'host_id' must be a string, it is missing")
        #expect(message(#"{"host_id": "h", "reports": {}}"#) == "a report: 'reports' must be an array, got object")
        #expect(
            message(#"{"host_id": "h", "reports": [{"job_id": "a", "lease": "1", "outcome": {"status": "completed"}}]}"#)
                == "a job report: 'lease' must be an integer, got string")
        #expect(
            message(#"{"host_id": "h", "reports": [{"job_id": "a", "lease": 1, "outcome": {"status": "done"}}]}"#)
                == "an outcome: 'status' must be 'completed', 'failed' or 'cancelled', got 'done'")
        #expect(message(#"{"host_id": "h", "reports": [{"job_id": "a", "lease": 1}]}"#) == "a job report: 'outcome' must be an object, it is missing")
        #expect(message("[1, 2]") == "a report must be a JSON object, got array")
        #expect(message(#"{"host_id": "h""#) != nil)
        #expect(throws: EasyJobsError.self) {
            try ClaimResponse.decode(
                Array(#"{"jobs": [{"job_id": "a", "task": "t", "args": {}, "attempt": 1, "lease": 1, "lease_expires_at": "soon"}]}"#.utf8))
        }
    }
}
