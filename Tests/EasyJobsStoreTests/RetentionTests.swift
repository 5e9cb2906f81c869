import EasyJobsCore
import EasyJobsStore
import Foundation
import Testing

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)
private func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

/// Regression: nothing was ever deleted, and a job's log grew without bound.
@Suite("Retention")
struct RetentionTests {
    private func finished(_ store: any TestStore, _ count: Int, at time: Double) async throws -> [String] {
        var ids: [String] = []
        for _ in 0..<count {
            let job = try await store.enqueue(NewJob(queue: "q", task: "t", args: [:], createdAt: at(time)))
            let run = try #require(try await store.claim(queue: "q", tasks: ["t"], hostID: "h", limit: 1, leaseDuration: 30, now: at(time)).first)
            _ = try await store.finish(jobID: job.id, lease: run.lease, hostID: "h", outcome: .completed(1), now: at(time))
            try await store.appendLogs([job.id: [JobLogLine(stream: .stdout, line: "hello", at: at(time))]], maxLinesPerJob: 10)
            ids.append(job.id)
        }
        return ids
    }

    @Test(arguments: StoreKind.allCases) func oldFinishedJobsAndTheirLogsGoInBatchesAndNothingElse(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let old = try await finished(store, 25, at: 10)
            let recent = try await finished(store, 3, at: 1_000)
            let queued = try await store.enqueue(NewJob(queue: "other", task: "t", args: [:], createdAt: at(0)))

            var deleted: [Int] = []
            while true {
                let count = try await store.prune(finishedBefore: at(500), limit: 10)
                deleted.append(count)
                if count < 10 { break }
            }
            #expect(deleted == [10, 10, 5])
            for id in old {
                #expect(try await store.job(id: id) == nil)
                #expect(try await store.logs(jobID: id, limit: 10).isEmpty)
            }
            for id in recent { #expect(try await store.job(id: id)?.status == .completed) }
            #expect(try await store.job(id: queued.id)?.status == .queued)
        }
    }

    @Test(arguments: StoreKind.allCases) func aFinishedDependencyOfAWaitingParentStays(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let parent = NewJob(queue: "q", task: "p", args: [:], createdAt: at(0), status: .waiting, dependencies: 2)
            let done = NewJob(queue: "q", task: "t", args: [:], createdAt: at(0), origin: JobOrigin(.runBefore, parent: parent.id))
            try await store.enqueue([parent, done])
            let run = try #require(try await store.claim(queue: "q", tasks: ["t"], hostID: "h", limit: 1, leaseDuration: 30, now: at(1)).first)
            _ = try await store.finish(jobID: done.id, lease: run.lease, hostID: "h", outcome: .completed(1), now: at(1))
            #expect(try await store.prune(finishedBefore: at(500), limit: 10) == 0)
            #expect(try await store.job(id: done.id)?.status == .completed)
        }
    }

    @Test(arguments: StoreKind.allCases) func aLogIsCappedWithOneMarker(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let job = try await store.enqueue(NewJob(queue: "q", task: "t", args: [:], createdAt: t0))
            let lines = (0..<8).map { JobLogLine(stream: .stdout, line: "line \($0)", at: at(Double($0))) }
            try await store.appendLogs([job.id: lines], maxLinesPerJob: 5)
            try await store.appendLogs([job.id: lines], maxLinesPerJob: 5)
            let stored = try await store.logs(jobID: job.id, limit: 100).map(\.line)
            #expect(stored == ["line 0", "line 1", "line 2", "line 3", "line 4", "… log truncated after 5 lines"])
        }
    }
}
