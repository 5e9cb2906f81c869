import EasyJobsCore
import EasyJobsStore
import Foundation
import Testing

/// The store's part in firing each schedule time once, with two stores on one database as two managers.
@Suite struct ScheduleStoreTests {
    @Test(arguments: StoreKind.allCases) func aTimeIsFiredOnceByOneOfTwoManagers(_ kind: StoreKind) async throws {
        try await kind.withStores(2) { stores in
            let (first, second) = (stores[0], stores[1])
            let created = Date(timeIntervalSince1970: 1_000)
            try await first.syncSchedule(
                ScheduleRecord(
                    queue: "q", task: "t", expression: "@every 1s", timeZone: "UTC", catchUp: .once, defaultArgs: ["a": 1], createdAt: created))
            let time = Date(timeIntervalSince1970: 1_001)
            let jobA = NewJob(queue: "q", task: "t", args: ["a": 1], origin: JobOrigin(.schedule), scheduledFor: time)
            let jobB = NewJob(queue: "q", task: "t", args: ["a": 1], origin: JobOrigin(.schedule), scheduledFor: time)
            // Both read "never fired" and race: exactly one wins and only its job is stored.
            async let a = first.fire(queue: "q", task: "t", at: time, previous: nil, jobs: [jobA])
            async let b = second.fire(queue: "q", task: "t", at: time, previous: nil, jobs: [jobB])
            let outcomes = try await [a, b]
            #expect(outcomes.filter { $0 }.count == 1)
            let jobs = try await first.jobs(JobFilter(task: "t"))
            #expect(jobs.count == 1)
            #expect(jobs.first?.scheduledFor == time)
            let schedule = try #require(try await second.schedules().first)
            #expect(schedule.lastFireAt == time)
            #expect(schedule.lastJobID == jobs.first?.id)
            // Syncing the definition again keeps the state.
            try await second.syncSchedule(
                ScheduleRecord(queue: "q", task: "t", expression: "@every 2s", timeZone: "UTC", catchUp: .all, defaultArgs: [:], createdAt: .now))
            let resynced = try #require(try await first.schedules().first)
            #expect(resynced.expression == "@every 2s" && resynced.catchUp == .all && resynced.lastFireAt == time && resynced.createdAt == created)
        }
    }

    @Test(arguments: StoreKind.allCases) func theSchedulerLockIsHeldByOneOwnerUntilItsLeaseEnds(_ kind: StoreKind) async throws {
        try await kind.withStores(2) { stores async throws in
            let (first, second) = (stores[0], stores[1])
            let now = Date(timeIntervalSince1970: 5_000)
            #expect(try await first.acquireLock(name: "scheduler", owner: "a", until: now.addingTimeInterval(5), now: now))
            #expect(try await !second.acquireLock(name: "scheduler", owner: "b", until: now.addingTimeInterval(5), now: now.addingTimeInterval(1)))
            #expect(try await first.acquireLock(name: "scheduler", owner: "a", until: now.addingTimeInterval(10), now: now.addingTimeInterval(2)))
            #expect(try await !second.acquireLock(name: "scheduler", owner: "b", until: now.addingTimeInterval(15), now: now.addingTimeInterval(9)))
            #expect(try await second.acquireLock(name: "scheduler", owner: "b", until: now.addingTimeInterval(20), now: now.addingTimeInterval(11)))
            #expect(try await !first.acquireLock(name: "scheduler", owner: "a", until: now.addingTimeInterval(20), now: now.addingTimeInterval(12)))
        }
    }

    @Test(arguments: StoreKind.allCases) func pausesAreKept(_ kind: StoreKind) async throws {
        try await kind.withStores(2) { stores in
            let (first, second) = (stores[0], stores[1])
            try await first.setPaused(.host, name: "h1", paused: true)
            try await first.setPaused(.queue, name: "q", paused: true)
            try await first.setPaused(.queue, name: "q", paused: true)
            #expect(try await second.paused() == [.host: ["h1"], .queue: ["q"]])
            try await second.setPaused(.queue, name: "q", paused: false)
            #expect(try await first.paused() == [.host: ["h1"]])
        }
    }
}
