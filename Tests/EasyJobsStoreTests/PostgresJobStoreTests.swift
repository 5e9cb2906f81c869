import EasyJobsCore
import EasyJobsPostgres
import EasyJobsStore
import Foundation
import PostgresNIO
import Testing

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)
private func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

/// What only the PostgreSQL store has: several managers, each with its own pool, writing one
/// database at the same time; its URL; its migrations. The contract every store keeps is
/// tested in ``JobStoreTests`` and the other shared suites.
@Suite("PostgresJobStore")
struct PostgresJobStoreTests {
    /// Runs `body` with `count` stores (separate pools, as separate managers) on a fresh database.
    private func withManagers<T>(_ count: Int, _ body: ([PostgresJobStore]) async throws -> T) async throws -> T {
        try await TestPostgres.withDatabase { url in
            try await TestPostgres.withStores(url: url, count: count) { try await body($0) }
        }
    }

    // MARK: Several managers

    @Test func twoManagersClaimingAtOnceNeverShareAJob() async throws {
        try await withManagers(2) { stores in
            let jobs = (0..<500).map { NewJob(queue: "ETL", task: "extract", args: ["n": .int($0)], createdAt: at(Double($0))) }
            try await stores[0].enqueue(jobs)

            // Four claimers per manager, as four hosts polling each.
            let claims = try await withThrowingTaskGroup(of: (String, [ClaimedRun]).self) { group in
                for (index, store) in stores.enumerated() {
                    for claimer in 0..<4 {
                        let hostID = "m\(index)-h\(claimer)"
                        group.addTask {
                            var claimed: [ClaimedRun] = []
                            var tick = 0.0
                            while true {
                                tick += 1
                                let batch = try await store.claim(
                                    queue: "ETL", tasks: ["extract"], hostID: hostID, limit: 5, leaseDuration: 30, now: at(1_000 + tick))
                                if batch.isEmpty { return (hostID, claimed) }
                                claimed += batch
                            }
                        }
                    }
                }
                return try await group.reduce(into: [String: [ClaimedRun]]()) { $0[$1.0] = $1.1 }
            }

            let all = claims.values.flatMap { $0 }
            #expect(all.count == 500)
            #expect(Set(all.map(\.id)) == Set(jobs.map(\.id)))
            #expect(all.allSatisfy { $0.attempts == 1 && $0.lease == 1 })
            // The store agrees: every job ran once, for the host that got it.
            let stored = try await stores[1].jobs(JobFilter(limit: 1_000))
            #expect(stored.count == 500)
            // Not uniqueKeysWithValues: a job claimed twice must fail the test, not crash it.
            let holder = Dictionary(claims.flatMap { host, runs in runs.map { ($0.id, host) } }, uniquingKeysWith: { first, _ in first })
            #expect(stored.allSatisfy { $0.status == .running && $0.attempts == 1 && $0.hostID == holder[$0.id] })
        }
    }

    @Test func eachScheduleTimeFiresOnceAcrossTwoManagers() async throws {
        try await withManagers(2) { stores in
            try await stores[0].syncSchedule(
                ScheduleRecord(queue: "q", task: "t", expression: "@every 1s", timeZone: "UTC", catchUp: .once, defaultArgs: [:], createdAt: at(0)))
            var previous: Date?
            for second in 1...20 {
                let time = at(Double(second))
                // Four schedulers (two per manager) read the same state and race to fire the time.
                let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for racer in 0..<4 {
                        let store = stores[racer % 2]
                        group.addTask { [previous] in
                            try await store.fire(
                                queue: "q", task: "t", at: time, previous: previous,
                                jobs: [NewJob(queue: "q", task: "t", args: [:], origin: JobOrigin(.schedule), scheduledFor: time)])
                        }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(winners == 1, "time \(second)")
                previous = time
            }
            let fired = try await stores[1].jobs(JobFilter(task: "t", limit: 100))
            #expect(fired.count == 20)
            #expect(Set(fired.compactMap(\.scheduledFor)) == Set((1...20).map { at(Double($0)) }))
            #expect(try await stores[0].schedules().first?.lastFireAt == at(20))
        }
    }

    @Test func aLockHasOneOwnerAcrossManagers() async throws {
        try await withManagers(2) { stores in
            func race(now: Date) async throws -> [String] {
                try await withThrowingTaskGroup(of: String?.self) { group in
                    for owner in 0..<8 {
                        let store = stores[owner % 2]
                        group.addTask {
                            try await store.acquireLock(name: "scheduler", owner: "o\(owner)", until: now.addingTimeInterval(10), now: now)
                                ? "o\(owner)" : nil
                        }
                    }
                    return try await group.reduce(into: []) { if let owner = $1 { $0.append(owner) } }
                }
            }
            // A free lock: one of eight owners takes it.
            let first = try await race(now: at(0))
            #expect(first.count == 1)
            // Held: nobody else takes it (the holder renews it).
            let held = try await race(now: at(5))
            #expect(held == first)
            // Expired (renewed until 15): again exactly one takes it.
            let expired = try await race(now: at(16))
            #expect(expired.count == 1)
        }
    }

    /// Two dependencies of one parent completing at once on two managers: each transaction
    /// alone sees the other dependency still running, so without the parent's row lock
    /// neither would release the parent.
    @Test func dependenciesCompletingAtOnceOnTwoManagersReleaseTheirParent() async throws {
        try await withManagers(2) { stores in
            var pairs: [(parent: String, first: String, second: String)] = []
            for index in 0..<20 {
                let parent = NewJob(queue: "q", task: "p", args: [:], createdAt: at(Double(index)), status: .waiting, dependencies: 2)
                let first = NewJob(queue: "q", task: "a", args: [:], createdAt: at(Double(index)), origin: JobOrigin(.runBefore, parent: parent.id))
                let second = NewJob(queue: "q", task: "b", args: [:], createdAt: at(Double(index)), origin: JobOrigin(.runBefore, parent: parent.id))
                try await stores[0].enqueue([parent, first, second])
                pairs.append((parent.id, first.id, second.id))
            }
            let running = try await stores[0].claim(queue: "q", tasks: ["a", "b"], hostID: "h", limit: 100, leaseDuration: 30, now: at(100))
            #expect(running.count == 40)
            let lease = Dictionary(running.map { ($0.id, $0.lease) }, uniquingKeysWith: max)

            var released: [String] = []
            for pair in pairs {
                let reports = [(stores[0], pair.first), (stores[1], pair.second)]
                released += try await withThrowingTaskGroup(of: [String].self) { group in
                    for (store, jobID) in reports {
                        let report = JobReport(jobID: jobID, lease: lease[jobID] ?? 0, outcome: .completed(1))
                        group.addTask {
                            try await store.finish([report], hostID: "h", now: at(101), rules: FinalRules()).released.map(\.id)
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
            }
            #expect(released.sorted() == pairs.map(\.parent).sorted())
            for pair in pairs {
                #expect(try await stores[1].job(id: pair.parent)?.status == .queued)
            }
        }
    }

    /// A host's reports reaching two managers at once (a retried request), in opposite orders:
    /// each job ends once, and neither call fails on a deadlock.
    @Test func twoManagersEndingTheSameJobsInOppositeOrdersEndEachOnce() async throws {
        try await withManagers(2) { stores in
            for round in 0..<10 {
                let jobs = (0..<2).map { NewJob(queue: "q", task: "t", args: ["round": .int(round), "n": .int($0)], createdAt: at(Double(round))) }
                try await stores[0].enqueue(jobs)
                let runs = try await stores[0].claim(queue: "q", tasks: ["t"], hostID: "h", limit: 2, leaseDuration: 30, now: at(100))
                let reports = runs.map { JobReport(jobID: $0.id, lease: $0.lease, outcome: .completed(.int(round))) }
                #expect(reports.count == 2)
                async let first = stores[0].finish(reports, hostID: "h", now: at(101), rules: FinalRules())
                async let second = stores[1].finish(reports.reversed(), hostID: "h", now: at(101), rules: FinalRules())
                let outcomes = try await [first, second]
                #expect(outcomes.flatMap(\.finished).map(\.id).sorted() == runs.map(\.id).sorted())
                #expect(outcomes.flatMap(\.rejected).sorted() == runs.map(\.id).sorted())
            }
        }
    }

    /// Two managers ending dependencies of two parents in crossed orders lock the parents in
    /// crossed orders: PostgreSQL aborts one transaction to break the deadlock, and the store
    /// runs it again, so no call fails and both parents are released once.
    @Test func aDeadlockedEndIsRunAgain() async throws {
        try await withManagers(2) { stores in
            for round in 0..<10 {
                let first = NewJob(queue: "q", task: "p", args: [:], createdAt: at(Double(round)), status: .waiting, dependencies: 2)
                let second = NewJob(queue: "q", task: "p", args: [:], createdAt: at(Double(round)), status: .waiting, dependencies: 2)
                func dependency(of parent: NewJob) -> NewJob {
                    NewJob(queue: "q", task: "d", args: [:], createdAt: at(Double(round)), origin: JobOrigin(.runBefore, parent: parent.id))
                }
                let (a, d) = (dependency(of: first), dependency(of: first))
                let (b, c) = (dependency(of: second), dependency(of: second))
                try await stores[0].enqueue([first, second, a, b, c, d])
                let runs = try await stores[0].claim(queue: "q", tasks: ["d"], hostID: "h", limit: 4, leaseDuration: 30, now: at(100))
                let lease = Dictionary(runs.map { ($0.id, $0.lease) }, uniquingKeysWith: max)
                func reports(_ jobs: [NewJob]) -> [JobReport] {
                    jobs.map { JobReport(jobID: $0.id, lease: lease[$0.id] ?? 0, outcome: .completed(1)) }
                }
                // Manager 0 locks the first parent, then the second; manager 1 the other way round.
                async let zero = stores[0].finish(reports([a, b]), hostID: "h", now: at(101), rules: FinalRules())
                async let one = stores[1].finish(reports([c, d]), hostID: "h", now: at(101), rules: FinalRules())
                let outcomes = try await [zero, one]
                #expect(outcomes.flatMap(\.finished).count == 4)
                #expect(outcomes.flatMap(\.released).map(\.id).sorted() == [first.id, second.id].sorted())
            }
        }
    }

    /// Two managers sweeping expired leases at once end each run once: one lost lease each.
    @Test func twoManagersSweepingExpiredLeasesRequeueEachJobOnce() async throws {
        try await withManagers(2) { stores in
            let jobs = (0..<100).map { NewJob(queue: "q", task: "t", args: [:], createdAt: at(Double($0)), maxAttempts: 3) }
            try await stores[0].enqueue(jobs)
            #expect(try await stores[0].claim(queue: "q", tasks: ["t"], hostID: "h", limit: 100, leaseDuration: 10, now: at(200)).count == 100)

            let sweeps = try await withThrowingTaskGroup(of: [String].self) { group in
                for store in stores + stores {
                    group.addTask { try await store.requeueExpired(now: at(300), rules: RetryingRules()).retried.map(\.id) }
                }
                return try await group.reduce(into: [[String]]()) { $0.append($1) }
            }
            let retried = sweeps.flatMap { $0 }
            #expect(retried.count == 100)
            #expect(Set(retried) == Set(jobs.map(\.id)))
            let stored = try await stores[1].jobs(JobFilter(limit: 1_000))
            #expect(stored.allSatisfy { $0.status == .queued && $0.lostLeases == 1 })
        }
    }

    // MARK: Migrations

    @Test func managersStartingTogetherMigrateOnce() async throws {
        try await TestPostgres.withDatabase { url in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await PostgresJobStore.withStore(url: url, options: TestPostgres.options, logger: TestPostgres.logger) { store in
                            // Migrated again by hand: a second migrate finds nothing to do.
                            try await store.migrate()
                        }
                    }
                }
                try await group.waitForAll()
            }
            let applied = try await TestPostgres.rows(url, "SELECT name FROM easyjobs_migrations ORDER BY name")
            #expect(
                try applied.map { try $0.makeRandomAccess()[0].decode(String.self) } == [
                    "v1", "v2-claim-by-task", "v3-job-features", "v4-host-queues",
                ])
        }
    }

    // MARK: Text PostgreSQL cannot hold

    /// A task may print a NUL byte or put one in its error; PostgreSQL text cannot hold it, so
    /// it is stored as U+FFFD rather than failing the whole batch.
    @Test func nulBytesInLogsAndErrorsAreReplaced() async throws {
        try await withManagers(1) { stores in
            let store = stores[0]
            let job = try await store.enqueue(NewJob(queue: "q", task: "t", args: ["text": "a\u{0}b"], createdAt: t0, maxAttempts: 1))
            try await store.appendLogs([job.id: [JobLogLine(stream: .stdout, line: "before\u{0}after", at: at(1))]], maxLinesPerJob: 10)
            #expect(try await store.logs(jobID: job.id, limit: 10).map(\.line) == ["before\u{FFFD}after"])
            #expect(try await store.job(id: job.id)?.args == ["text": "a\u{0}b"])

            let run = try #require(try await store.claim(queue: "q", tasks: ["t"], hostID: "h", limit: 1, leaseDuration: 30, now: at(2)).first)
            let failed = try await store.finish(jobID: job.id, lease: run.lease, hostID: "h", outcome: .failed("bad\u{0}byte"), now: at(3))
            #expect(failed?.error == "bad\u{FFFD}byte")
        }
    }

    // MARK: Configuration

    @Test(arguments: [
        ("mysql://user@host/db", "the scheme is 'mysql'"),
        ("postgres://host/db", "it names no user"),
        ("postgres://user@:5432/db", "it names no host"),
        ("postgres://user@host", "it names no database"),
        ("postgres://user@host/", "it names no database"),
        ("postgres://user@host/a/b", "contains '/'"),
        ("postgres://user:secret@host/db?sslmode=verify-ca", "sslmode 'verify-ca' is not supported"),
        ("postgres://user:secret@host/db?application_name=x", "the parameter 'application_name' is not supported"),
        ("not a url at all", "it is not a URL"),
    ])
    func aBadURLIsRefusedWithWhatIsWrong(url: String, reason: String) throws {
        let error = #expect(throws: EasyJobsError.self) { try PostgresJobStore(url: url) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "no error")")
        #expect(error?.message.contains("secret") == false)
        #expect(error?.context.values.contains { $0.contains("secret") } == false)
    }

    @Test func aGoodURLNamesItsServerWithoutThePassword() throws {
        let store = try PostgresJobStore(url: "postgresql://easy:p%40ss@db.internal:6543/jobs?sslmode=require")
        #expect(store.location == "postgres://easy@db.internal:6543/jobs")
        #expect(try PostgresJobStore(url: "postgres://u@localhost/jobs").location == "postgres://u@localhost:5432/jobs")
    }

    /// A server that cannot be reached fails the store's start with `store_failure` at once
    /// (not after the pool's minute of retries), and the message does not carry the password.
    @Test func anUnreachableServerIsAStoreFailure() async throws {
        // Port 1 on loopback: nothing listens there, so every connection is refused at once.
        let url = "postgres://user:hunter2@127.0.0.1:1/jobs"
        let error = await #expect(throws: EasyJobsError.self) {
            try await PostgresJobStore.withStore(
                url: url, options: .init(maximumConnections: 1, connectTimeout: .milliseconds(500)), logger: TestPostgres.logger
            ) { _ in }
        }
        #expect(error?.code == .storeFailure)
        #expect(error?.message.hasPrefix("Could not connect to the database: ") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("hunter2") == false)
        #expect(error?.context.values.contains { $0.contains("hunter2") } == false)
    }
}
