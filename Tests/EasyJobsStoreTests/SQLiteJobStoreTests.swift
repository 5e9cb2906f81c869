import EasyJobsCore
@testable import EasyJobsStore
import Foundation
import GRDB
import Testing

/// Whole seconds and exact binary fractions, so dates survive the REAL round trip bit for bit.
private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

private func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

/// What only the SQLite store has: a file, its directory, its options. The contract every
/// store keeps is tested in ``JobStoreTests``.
@Suite("SQLiteJobStore")
struct SQLiteJobStoreTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    @Test func initCreatesMissingDirectories() async throws {
        let path = directory.url.appendingPathComponent("a/b/jobs.sqlite").path
        let nested = try SQLiteJobStore(path: path)
        _ = try await nested.enqueue(NewJob(queue: "ETL", task: "extract", args: [:]))
        #expect(FileManager.default.fileExists(atPath: path))
    }

    /// Regression (issue 14): the pass that ends jobs past their deadline read `jobs_status` for
    /// its status list and walked every queued job (9–19 ms on the writer with 100,000 queued);
    /// it reads the partial index of the jobs that have a deadline.
    @Test func theExpiryPassReadsOnlyTheJobsThatHaveADeadline() async throws {
        let path = directory.databasePath
        let store = try SQLiteJobStore(path: path)
        try await store.enqueue((0..<2_000).map { NewJob(queue: "ETL", task: "extract", args: [:], createdAt: at(Double($0) / 100)) })
        var expiring = NewJob(queue: "ETL", task: "extract", args: [:], createdAt: at(30))
        expiring.expiresAt = at(40)
        var later = NewJob(queue: "ETL", task: "extract", args: [:], createdAt: at(30))
        later.expiresAt = at(90)
        try await store.enqueue([expiring, later])

        let transitions = try await store.expireOverdue(now: at(50), rules: FinalRules())
        #expect(transitions.finished.map(\.id) == [expiring.id])
        #expect(transitions.finished.first?.status == .expired)

    }

    /// Regression (issue 14): without statistics SQLite planned these statements on
    /// `jobs_status` or a whole-table walk (the expiry pass walked every queued job, the
    /// dependency results of a claim every completed job, the dashboard's recent counts the whole
    /// table). Each must read the index named for it, on a file with rows in every status.
    @Test func periodicAndLookupStatementsReadTheirOwnIndexes() async throws {
        let path = directory.databasePath
        let store = try SQLiteJobStore(path: path)
        try await store.enqueue((0..<500).map { NewJob(queue: "ETL", task: "extract", args: [:], createdAt: at(Double($0) / 100)) })
        let claimed = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 300, leaseDuration: 30, now: at(10))
        _ = try await store.finish(
            claimed.prefix(200).map { JobReport(jobID: $0.id, lease: $0.lease, outcome: .completed(.null)) }, hostID: "h1", now: at(11),
            rules: FinalRules())
        let statements: [(name: String, sql: String, arguments: StatementArguments, index: String)] = [
            ("expiry pass", SQLiteJobStore.overdueSelection, [0], "jobs_expiry"),
            ("lapsed leases", SQLiteJobStore.lapsedSelection, [0], "jobs_lease_expiry"),
            ("dependency results", SQLiteJobStore.dependencyResultsSelection(count: 2), ["a", "b"], "jobs_parent"),
            ("recent counts", SQLiteJobStore.recentlyFinishedCount, [0], "jobs_finished"),
            ("retention", SQLiteJobStore.prunableSelection, [0, 100], "jobs_finished"),
        ]
        try await DatabaseQueue(path: path).read { db in
            for statement in statements {
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + statement.sql, arguments: statement.arguments).map {
                    $0["detail"] as String
                }
                #expect(
                    plan.first?.contains("INDEX \(statement.index) ") == true, "\(statement.name) is planned as \(plan), not on \(statement.index)")
            }
        }
    }

    /// Regression (issue 14): a job's claim and its end moved its entries in two indexes of the
    /// whole history (`jobs_claim`, `jobs_status`), the writer's largest cost per batched job.
    /// Every index of `jobs` but the id's holds only the jobs of some statuses, or of some
    /// other condition, so a status change moves a job between small indexes.
    @Test func everyIndexOfJobsButTheIDsIsPartial() async throws {
        let path = directory.databasePath
        _ = try await SQLiteJobStore(path: path).enqueue(NewJob(queue: "ETL", task: "extract", args: [:]))
        let indexes = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND sql IS NOT NULL")
        }
        #expect(indexes.count >= 8)
        for index in indexes {
            let sql: String = index["sql"]
            #expect(sql.contains(" WHERE "), "\(index["name"] as String) holds every job: \(sql)")
        }
    }

    /// Counts, pages and dead-job selections read the index of each status they ask for: no
    /// walk of the table (a plan line `SCAN jobs` without an index) for any status, across
    /// queues or in one, on a file with jobs in several statuses; only a page of completed
    /// jobs walks the table, newest first, once.
    @Test func countsAndPagesByStatusReadTheIndexOfEachStatus() async throws {
        let path = directory.databasePath
        let store = try SQLiteJobStore(path: path)
        try await store.enqueue((0..<50).map { NewJob(queue: "ETL", task: "extract", args: [:], createdAt: at(Double($0) / 100)) })
        let claimed = try await store.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 30, leaseDuration: 30, now: at(10))
        _ = try await store.finish(
            claimed.prefix(20).map { JobReport(jobID: $0.id, lease: $0.lease, outcome: .completed(.null)) }, hostID: "h1", now: at(11),
            rules: FinalRules())
        var statements: [(name: String, sql: String, arguments: StatementArguments)] = []
        for queue in [nil, "ETL"] as [String?] {
            for statuses in [Set(JobStatus.allCases), [.queued], [.running, .waiting], [.completed], [.failed, .cancelled, .queued]]
                as [Set<JobStatus>]
            {
                let (count, countArguments) = SQLiteJobStore.countSelection(queue: queue, statuses: statuses)
                statements.append(("count \(queue ?? "*") \(statuses.map(\.rawValue).sorted())", count, countArguments))
                let (page, pageArguments) = SQLiteJobStore.listSelection(JobFilter(queue: queue, statuses: statuses, limit: 10, offset: 5))
                statements.append(("page \(queue ?? "*") \(statuses.map(\.rawValue).sorted())", page, pageArguments))
            }
            let (dead, deadArguments) = SQLiteJobStore.deadSelection(DeadJobFilter(queue: queue), revivable: true)
            statements.append(("dead jobs \(queue ?? "*")", dead, deadArguments))
        }
        try await DatabaseQueue(path: path).read { [statements] db in
            for statement in statements {
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + statement.sql, arguments: statement.arguments).map {
                    $0["detail"] as String
                }
                let walks = plan.filter { $0.hasPrefix("SCAN jobs") && !$0.contains("INDEX") }
                // Completed jobs, the bulk of the table, are paged from the table newest first.
                #expect(
                    walks.count == (statement.name.hasPrefix("page") && statement.name.contains("completed") ? 1 : 0),
                    "\(statement.name) walks the table: \(plan)")
                // The gauges count a queue's queued jobs every second, a million of them in a
                // backlog: from the index alone, without reading a row each.
                if statement.name.hasPrefix("count") && (statement.name.hasSuffix("[\"queued\"]") || statement.name.hasSuffix("[\"completed\"]")) {
                    #expect(plan.allSatisfy { $0.contains("COVERING INDEX") }, "\(statement.name) reads rows: \(plan)")
                }
            }
        }
    }

    /// A file the store creates has the page size of its options (8 KiB by default); a file
    /// made with another keeps it and works as before.
    @Test func aNewFileTakesThePageSizeOfTheOptionsAndAnOldOneKeepsItsOwn() async throws {
        func pageSize(_ path: String) async throws -> Int {
            try await DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0 }
        }
        let fresh = directory.url.appendingPathComponent("fresh.sqlite").path
        _ = try await SQLiteJobStore(path: fresh).enqueue(NewJob(queue: "ETL", task: "extract", args: [:]))
        #expect(try await pageSize(fresh) == 8_192)

        let old = directory.url.appendingPathComponent("old.sqlite").path
        let job: Job
        do {
            let store = try SQLiteJobStore(path: old, options: .init(pageSize: 4_096))
            job = try await store.enqueue(NewJob(queue: "ETL", task: "extract", args: ["n": 1]))
        }
        let reopened = try SQLiteJobStore(path: old)
        #expect(try await pageSize(old) == 4_096)
        #expect(try await reopened.job(id: job.id)?.args == ["n": 1])
        #expect(
            try await reopened.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 5, leaseDuration: 30, now: at(1)).map(\.id) == [job.id])

        #expect(SQLiteJobStore.Options(pageSize: 10_000).pageSize == 8_192)
        #expect(SQLiteJobStore.Options(pageSize: 100).pageSize == 512)
        #expect(SQLiteJobStore.Options(pageSize: 1 << 20).pageSize == 65_536)
    }

    /// A claim reads the arms of the served tasks that have queued jobs only (issue 14), found by a
    /// walk from one distinct queued task to the next; past ``SQLiteJobStore/queuedTaskScan``
    /// distinct tasks it keeps every served task's arm, and claims the same jobs either way.
    @Test func aClaimReadsOnlyTheArmsOfTasksWithQueuedJobs() async throws {
        let store = try SQLiteJobStore(path: directory.databasePath)
        let served = Set((0..<30).map { "task\($0)" })
        try await store.enqueue([
            NewJob(queue: "ETL", task: "task7", args: [:], createdAt: at(0)),
            NewJob(queue: "ETL", task: "unserved", args: [:], createdAt: at(1)),
            NewJob(queue: "ETL", task: "task21", args: [:], createdAt: at(2)),
            NewJob(queue: "ETL", task: "task7", args: [:], createdAt: at(3)),
            NewJob(queue: "Other", task: "task3", args: [:], createdAt: at(4)),
        ])
        func queued(_ queue: String, _ tasks: Set<String>) async throws -> Set<String> {
            try await store.write("list queued tasks") { db in try SQLiteJobStore.queuedTasks(queue: queue, among: tasks, db) }
        }
        #expect(try await queued("ETL", served) == ["task7", "task21"])
        #expect(try await queued("Empty", served) == [])

        // As many distinct queued tasks as the walk reads: still narrowed. One more: every served task.
        let scan = SQLiteJobStore.queuedTaskScan
        try await store.enqueue((0..<(scan - 3)).map { NewJob(queue: "ETL", task: "more\($0)", args: [:], createdAt: at(5)) })
        #expect(try await queued("ETL", served) == ["task7", "task21"])
        try await store.enqueue([NewJob(queue: "ETL", task: "more\(scan)", args: [:], createdAt: at(6))])
        #expect(try await queued("ETL", served) == served)

        // The claim takes the same jobs, in enqueue order, whichever way its arms were chosen.
        let claimed = try await store.claim(queue: "ETL", tasks: served, hostID: "h1", limit: 10, leaseDuration: 30, now: at(10))
        #expect(claimed.map(\.task) == ["task7", "task21", "task7"])
        #expect(try await store.claim(queue: "ETL", tasks: served, hostID: "h1", limit: 10, leaseDuration: 30, now: at(11)).isEmpty)
        let other = try await store.claim(queue: "Other", tasks: served, hostID: "h1", limit: 10, leaseDuration: 30, now: at(11))
        #expect(other.map(\.task) == ["task3"])
    }

    /// Writes run in transactions of the store's own (`BEGIN` and `COMMIT` prepared once, issue
    /// 14): a body that fails, by its own error or a statement's, leaves nothing of what it
    /// wrote, and the writer goes on committing the next write.
    @Test func aWriteThatFailsLeavesNothingAndTheNextOneCommits() async throws {
        struct Refused: Error {}
        let store = try SQLiteJobStore(path: directory.databasePath)
        let first = NewJob(queue: "ETL", task: "extract", args: [:], createdAt: at(0))
        let second = NewJob(queue: "ETL", task: "extract", args: [:], createdAt: at(1))

        let inside = try await store.write("look at the transaction") { db in db.isInsideTransaction }
        #expect(inside)
        // The store reports any failure of a write as its own error.
        await #expect(throws: EasyJobsError.self) {
            try await store.write("insert, then refuse") { db in
                try SQLiteJobStore.insert(SQLiteJobStore.rows([first]), db)
                throw Refused()
            }
        }
        await #expect(throws: EasyJobsError.self) {
            // The second row repeats the first's id: the statement fails after the first row went in.
            try await store.write("insert a job twice") { db in
                try SQLiteJobStore.insert(SQLiteJobStore.rows([second, second]), db)
            }
        }
        #expect(try await store.job(id: first.id) == nil)
        #expect(try await store.job(id: second.id) == nil)

        _ = try await store.enqueue(second)
        #expect(try await store.job(id: second.id)?.status == .queued)
        #expect(try await store.counts(queue: nil)[.queued] == 1)
    }

    /// A write that finds the writer free runs on the caller's thread, without a hop to the
    /// writer's queue and back (issue 14: two wake-ups of sleeping threads a write), unless
    /// every commit waits for an fsync (`synchronous = FULL`): that wait stays off the caller's
    /// thread.
    @Test func aWriteThatFindsTheWriterFreeRunsOnTheCallersThread() async throws {
        let store = try SQLiteJobStore(path: directory.databasePath)
        let caller = pthread_self()
        let writer = try await store.write("look at the thread") { _ in pthread_self() }
        #expect(pthread_equal(caller, writer) != 0)

        let durable = try SQLiteJobStore(
            path: directory.url.appendingPathComponent("durable.sqlite").path, options: .init(synchronous: .full))
        let durableCaller = pthread_self()
        let durableWriter = try await durable.write("look at the thread") { _ in pthread_self() }
        #expect(pthread_equal(durableCaller, durableWriter) == 0)
    }

    /// A write that would wait for another one suspends and runs on the writer's own thread
    /// when its turn comes, rather than hold the caller's thread on the writer's lock (a blocking
    /// call would run it on the caller's thread, after keeping that thread waiting).
    @Test func aWriteQueuedBehindAnotherRunsOffTheCallersThread() async throws {
        let store = try SQLiteJobStore(path: directory.databasePath)
        let release = DispatchSemaphore(value: 0)
        let (started, starting) = AsyncStream<Void>.makeStream()
        // The long write runs on a thread of its own (it finds the writer free, so it runs on its
        // caller's thread): holding a thread of the cooperative pool for it would starve the
        // other tests running in parallel.
        let long = Task(executorPreference: DedicatedThreadExecutor()) {
            try await store.write("a long write") { db in
                try SQLiteJobStore.insert(SQLiteJobStore.rows([NewJob(queue: "ETL", task: "long", args: [:], createdAt: at(0))]), db)
                starting.yield()
                _ = release.wait(timeout: .now() + 20)
            }
        }
        for await _ in started { break }
        let queued = Task {
            let caller = pthread_self()
            let writer = try await store.write("a write behind it") { db in
                try SQLiteJobStore.insert(SQLiteJobStore.rows([NewJob(queue: "ETL", task: "queued", args: [:], createdAt: at(1))]), db)
                return pthread_self()
            }
            return pthread_equal(caller, writer) != 0
        }
        // The long write ends once the other one is queued behind it.
        let deadline = ContinuousClock.now + .seconds(20)
        while store.writesInFlight.load(ordering: .acquiring) < 2 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let queuedBehind = store.writesInFlight.load(ordering: .acquiring) == 2
        release.signal()
        try await long.value
        #expect(queuedBehind)
        #expect(try await queued.value == false)
        #expect(try await store.counts(queue: "ETL")[.queued] == 2)
    }

    // MARK: Durability

    @Test func reopeningTheFileKeepsJobsAndResults() async throws {
        let path = directory.databasePath
        var jobs: [Job] = []
        do {
            let first = try SQLiteJobStore(path: path, options: .init(synchronous: .full))
            for index in 0..<3 {
                jobs.append(try await first.enqueue(NewJob(queue: "ETL", task: "extract", args: ["n": .int(index)], createdAt: at(Double(index)))))
            }
            _ = try await first.claim(queue: "ETL", tasks: ["extract"], hostID: "h1", limit: 2, leaseDuration: 30, now: at(10))
            _ = try await first.finish(jobID: jobs[0].id, lease: 1, hostID: "h1", outcome: .completed(["answer": 42, "pi": 3.25]), now: at(11))
            try await first.saveHost(
                HostRecord(
                    id: "h1", name: "worker", queue: "ETL", maxTasks: 2, plugins: [], refused: [], registeredAt: at(0), lastSeen: at(11)))
        }

        // A new store on the same file is what a restarted manager sees.
        let reopened = try SQLiteJobStore(path: path)
        let done = try #require(try await reopened.job(id: jobs[0].id))
        #expect(done.status == .completed)
        #expect(done.result == ["answer": 42, "pi": 3.25])
        #expect(done.finishedAt == at(11))
        #expect(try await reopened.job(id: jobs[1].id)?.status == .running)
        #expect(try await reopened.job(id: jobs[1].id)?.leaseExpiresAt == at(40))
        #expect(try await reopened.job(id: jobs[2].id)?.status == .queued)
        #expect(try await reopened.hosts().map(\.id) == ["h1"])

        // FIFO order survives too, and new jobs go after the old ones.
        let newer = try await reopened.enqueue(NewJob(queue: "ETL", task: "extract", args: [:], createdAt: at(20)))
        let claimed = try await reopened.claim(queue: "ETL", tasks: ["extract"], hostID: "h2", limit: 5, leaseDuration: 30, now: at(21))
        #expect(claimed.map(\.id) == [jobs[2].id, newer.id])
    }
}

/// Runs a task's jobs on a serial dispatch queue (one of dispatch's own threads), outside the
/// cooperative pool.
private final class DedicatedThreadExecutor: TaskExecutor {
    private let queue = DispatchQueue(label: "SQLiteJobStoreTests.dedicated")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
