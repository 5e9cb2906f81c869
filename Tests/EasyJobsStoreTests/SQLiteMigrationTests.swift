import EasyJobsCore
import Foundation
import GRDB
import Testing

@testable import EasyJobsStore

/// The schema upgrades of the SQLite store keep what a file of the earlier schema holds.
@Suite("SQLite migrations")
struct SQLiteMigrationTests {
    /// "v4-job-features" rebuilds the jobs table (a CHECK cannot be altered in SQLite): every
    /// row and its seq survive, and seq never reuses the number of a job deleted before.
    @Test func theJobFeaturesMigrationKeepsJobsAndTheSeqHighWaterMark() async throws {
        let directory = try TemporaryDirectory()
        let queue = try DatabaseQueue(path: directory.databasePath)
        try SQLiteMigrations.migrator.migrate(queue, upTo: "v3-claim-by-task")
        try await queue.write { db in
            for (index, status) in ["queued", "completed", "waiting"].enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO jobs (id, queue, task, args, status, created_at, run_at, lease) VALUES (?, 'Q', 't', '{"n":1}', ?, 1700000000, 0, 3)
                        """, arguments: ["old-\(index)", status])
            }
            try db.execute(sql: "INSERT INTO jobs (id, queue, task, args, status, created_at) VALUES ('deleted', 'Q', 't', '{}', 'completed', 1)")
            try db.execute(sql: "DELETE FROM jobs WHERE id = 'deleted'")
        }
        try queue.close()

        let store = try SQLiteJobStore(path: directory.databasePath)
        let old = try #require(try await store.job(id: "old-0"))
        #expect(old.status == .queued && old.args == ["n": 1] && old.lease == 3 && old.priority == 0 && old.expiresAt == nil)
        #expect(try await store.job(id: "old-1")?.status == .completed)
        #expect(try await store.counts(queue: "Q") == [.queued: 1, .completed: 1, .waiting: 1])
        try await store.enqueue(NewJob(id: "new", queue: "Q", task: "t", args: [:]))
        let claimed = try await store.claim(queue: "Q", tasks: ["t"], hostID: "h", limit: 5, leaseDuration: 30, now: .now)
        #expect(claimed.map(\.id) == ["old-0", "new"])
        // The new statuses are accepted now.
        var scheduled = NewJob(id: "scheduled", queue: "Q", task: "t", args: [:], status: .scheduled)
        scheduled.runAt = .now.addingTimeInterval(3_600)
        try await store.enqueue(scheduled)
        #expect(try await store.job(id: "scheduled")?.status == .scheduled)

        let reopened = try DatabaseQueue(path: directory.databasePath)
        let seqs = try await reopened.read { db in
            try Int64.fetchAll(db, sql: "SELECT seq FROM jobs WHERE id IN ('old-2', 'new') ORDER BY seq")
        }
        // "deleted" took seq 4: the first job stored after the migration comes after it.
        #expect(seqs == [3, 5])
    }

    /// "v5-host-queues" adds the queues of a host: one stored before it serves its one queue,
    /// and a host saved after it keeps its weights.
    @Test func theHostQueuesMigrationReadsAnEarlierHostAsServingItsOneQueue() async throws {
        let directory = try TemporaryDirectory()
        let queue = try DatabaseQueue(path: directory.databasePath)
        try SQLiteMigrations.migrator.migrate(queue, upTo: "v4-job-features")
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO hosts (id, name, queue, max_tasks, plugins, refused, registered_at, last_seen)
                    VALUES ('old', 'old-host', 'etl', 4, '[]', '[]', 1700000000, 1700000000)
                    """)
        }
        try queue.close()

        let store = try SQLiteJobStore(path: directory.databasePath)
        let old = try #require(try await store.host(id: "old"))
        #expect(old.queue == "etl" && old.queues == [QueueWeight(name: "etl")] && old.maxTasks == 4)
        let weighted = [QueueWeight(name: "hi", weight: 3), QueueWeight(name: "lo")]
        try await store.saveHost(
            HostRecord(
                id: "new", name: "new-host", queue: "hi", queues: weighted, maxTasks: 2, plugins: [], refused: [], registeredAt: .now, lastSeen: .now)
        )
        #expect(try await store.host(id: "new")?.queues == weighted)
    }
}
