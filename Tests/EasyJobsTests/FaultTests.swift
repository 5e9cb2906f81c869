import AsyncHTTPClient
import EasyJobsClient
import EasyJobsCore
import Foundation
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Processes killed, paused and starved of disk while work flows, on a real manager and real
/// hosts. Each prints its figures as `fault: …` lines, which docs/RELIABILITY.md reports.
@Suite(.serialized) struct FaultTests {
    /// `scripts/faults.sh` runs the long variants: job and enqueue counts times this.
    static let scale = max(1, Int(ProcessInfo.processInfo.environment["EASYJOBS_FAULT_SCALE"] ?? "") ?? 1)

    /// Every job of the cluster, paged.
    static func allJobs(_ client: ManagerClient) async throws -> [JobView] {
        var jobs: [JobView] = []
        while true {
            let page = try await client.list(limit: 1000, offset: jobs.count).jobs
            jobs += page
            if page.count < 1000 { return jobs }
        }
    }

    /// Runs of each job, read from the `tick` task's file: job id → lease → tick times.
    static func ticks(_ path: String) throws -> [String: [Int: [Double]]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var runs: [String: [Int: [Double]]] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let attempt = Int(parts[1]), let time = Double(parts[2]) else { continue }
            runs[String(parts[0]), default: [:]][attempt, default: []].append(time)
        }
        return runs
    }

    /// Jobs two runs of which ticked at the same time (outside `frozen`, when one of them could not run).
    static func concurrentRuns(_ runs: [String: [Int: [Double]]], frozen: ClosedRange<Double>? = nil) -> [String] {
        runs.compactMap { job, attempts in
            let spans = attempts.values.map { times -> ClosedRange<Double> in times.min()!...times.max()! }
            for (index, a) in spans.enumerated() {
                for b in spans.dropFirst(index + 1) where a.overlaps(b) {
                    let overlap = max(a.lowerBound, b.lowerBound)...min(a.upperBound, b.upperBound)
                    if let frozen, frozen.contains(overlap.lowerBound) && frozen.contains(overlap.upperBound) { continue }
                    return job
                }
            }
            return nil
        }
    }

    @Test func aHostKilledWithTwentyJobsInFlightLosesNoneAndRunsNoneTwiceAtOnce() async throws {
        try await withCluster(managerArguments: ["--lease", "2"]) { cluster in
            let file = cluster.directory.url.appendingPathComponent("ticks").path
            let doomed = try await cluster.startHost(name: "doomed", queue: "c", plugins: ["Crashers"], maxTasks: 20)
            let client = cluster.client
            // A stream of 200 jobs, the first 60 in one batch (so the doomed host holds 20 for
            // several seconds however slow single enqueues are on a loaded machine: one at a
            // time, they can arrive slower than 20 slots run 3 s jobs), then 10 ms apart; the
            // doomed host dies holding 20.
            let total = 200 * Self.scale
            let arguments: JSONValue = ["seconds": 3, "path": .string(file)]
            let stream = Task {
                var ids = try await client.enqueueBatch(
                    queue: "c", jobs: Array(repeating: BatchEnqueueItem(task: "tick", arguments: arguments), count: 60))
                for _ in 60..<total {
                    ids.append(try await client.enqueue(queue: "c", task: "tick", arguments: arguments))
                    try await Task.sleep(for: .milliseconds(10))
                }
                return ids
            }
            var held: [JobView] = []
            do {
                try await waitUntil("the doomed host runs 20 jobs", timeout: .seconds(90)) {
                    held = try await client.list(status: "running", limit: 1000).jobs.filter { $0.host == "doomed" }
                    return held.count >= 20
                }
            } catch {
                // Seen twice under load, never alone: what the host and manager said tells why.
                Issue.record(
                    "the doomed host held \(held.count) jobs; host stderr: \(doomed.stderr.suffix(4000)); manager stderr: \(cluster.manager.stderr.suffix(4000))"
                )
                throw error
            }
            kill(doomed.pid, SIGKILL)
            let killed = Date()
            try await cluster.startHost(name: "survivor", queue: "c", plugins: ["Crashers"], maxTasks: 20)
            let ids = try await stream.value
            try await waitUntil("every job completes", timeout: .seconds(120 * Self.scale)) {
                try await Self.allJobs(client).filter { $0.status == .completed }.count == total
            }
            let views = try await Self.allJobs(client)
            let rerun = views.filter { $0.attempts > 1 }
            let recovered = rerun.compactMap(\.finishedAt).max().map { $0.timeIntervalSince(killed) } ?? 0
            let runs = try Self.ticks(file)
            let concurrent = Self.concurrentRuns(runs)
            print(
                "fault: host SIGKILL: jobs \(total), lost \(total - views.filter { $0.status == .completed }.count), re-run \(rerun.count), run twice at once \(concurrent.count), all re-run within \(String(format: "%.1f", recovered)) s of the kill (lease 2 s, 3 s jobs)"
            )
            #expect(Set(views.map(\.requestID)) == Set(ids))
            // Every job the doomed host held when it died ran again, its lost run counted. (On a
            // loaded machine the listing can be late: a job it shows running may have finished on
            // the doomed host, its report sent before the kill.)
            let heldIDs = Set(held.map(\.requestID))
            let notRerun = views.filter { view in heldIDs.contains(view.requestID) && view.attempts < 2 && view.host != "doomed" }
            #expect(
                notRerun.isEmpty,
                "held by the doomed host and not run again: \(notRerun.map { "\($0.requestID) attempts \($0.attempts) host \($0.host ?? "-") error \($0.error ?? "-")" })"
            )
            #expect(!rerun.isEmpty)
            #expect(concurrent.isEmpty)
        }
    }

    @Test func everyEnqueueAnsweredBeforeAManagerIsKilledSurvivesIt() async throws {
        try await withCluster(port: try freePort()) { cluster in
            let client = cluster.client
            try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            _ = try await client.setPaused(.queue, name: "test", paused: true)
            let answered = AnsweredIDs()
            let manager = cluster.manager!
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<(500 * Self.scale) {
                    group.addTask {
                        if let id = try? await client.enqueue(queue: "test", task: "add", arguments: ["a": .int(index), "b": 1]) {
                            answered.add(id)
                        }
                    }
                }
                group.addTask {
                    try await waitUntil("some enqueues are answered") { answered.count >= 100 * Self.scale }
                    kill(manager.pid, SIGKILL)
                }
                try await group.waitForAll()
            }
            let ids = answered.all
            try await cluster.startManager()
            _ = try await client.setPaused(.queue, name: "test", paused: false)
            try await waitUntil("every answered enqueue completes", timeout: .seconds(60 * Self.scale)) {
                let completed = Set(try await Self.allJobs(client).filter { $0.status == .completed }.map(\.requestID))
                return ids.allSatisfy(completed.contains)
            }
            print("fault: manager SIGKILL during \(500 * Self.scale) concurrent enqueues: answered \(ids.count), lost 0 of them")
            #expect(ids.count >= 100 * Self.scale)
        }
    }

    /// In the host's process, and in a child (which SIGSTOP to the host does not stop: the child
    /// ends itself once its host has been stopped for half a lease).
    static let tickTasks = ["tick", "tick_subprocess"]

    @Test(arguments: tickTasks)
    func aHostPausedPastItsLeaseDoesNotRunAJobTwiceAtOnce(task: String) async throws {
        try await withCluster(managerArguments: ["--lease", "2"]) { cluster in
            let file = cluster.directory.url.appendingPathComponent("ticks").path
            let paused = try await cluster.startHost(name: "paused", queue: "c", plugins: ["Crashers"])
            let client = cluster.client
            let id = try await client.enqueue(queue: "c", task: task, arguments: ["seconds": 6, "path": .string(file)])
            try await waitUntil("the job ticks") {
                let view = try await client.viewResult(id: id)
                guard view.status == .running || view.status == .queued else {
                    throw TestFailure(
                        "the tick job ended: \(view.status) \(view.result ?? .null) \((try? String(contentsOfFile: file, encoding: .utf8))?.prefix(300) ?? "no file")"
                    )
                }
                return (try Self.ticks(file)[id]?.values.map(\.count).reduce(0, +) ?? 0) >= 3
            }
            kill(paused.pid, SIGSTOP)
            let stoppedAt = Date().timeIntervalSince1970
            try await cluster.startHost(name: "other", queue: "c", plugins: ["Crashers"])
            try await waitUntil("the job runs again elsewhere", timeout: .seconds(30)) {
                try await client.viewResult(id: id).host == "other"
            }
            try await Task.sleep(for: .seconds(1))
            kill(paused.pid, SIGCONT)
            let resumedAt = Date().timeIntervalSince1970
            let outcome = try await client.pullResult(id: id, wait: 30)
            guard case .completed = outcome else {
                Issue.record("expected completion, got \(outcome)")
                return
            }
            // Let the resumed host notice its lease is gone.
            do {
                try await waitUntil("the paused host stops its stale run") { paused.stderr.contains("stopping this run") }
            } catch {
                // What it did instead, for the next person (seen once on CI: no stop logged in 30 s).
                Issue.record("the resumed host (running: \(paused.isRunning)) logged:\n\(paused.stderr.suffix(4000))")
                throw error
            }
            if task == "tick_subprocess" { #expect(paused.stderr.contains("the host has been stopped for over 1 s")) }
            var runs = try Self.ticks(file)
            // A resumed process runs a moment before it can see that its lease is gone: at most the
            // tick already due when it wakes. Anything beyond that is the stale run going on.
            let staleAfterResume = runs[id]?[1]?.filter { $0 > resumedAt }.count ?? 0
            let beforeResume = runs[id]?[1]?.filter { $0 <= resumedAt }
            runs[id]?[1] = beforeResume
            // A child is not frozen with its host: its ticks during the stop count.
            let concurrent = Self.concurrentRuns(runs, frozen: task == "tick" ? stoppedAt...resumedAt : nil)
            print(
                "fault: host SIGSTOP past its lease (\(task)): runs \(runs[id]?.count ?? 0), run twice at once \(concurrent.count), ticks of the stale run after SIGCONT \(staleAfterResume) (at most the one due at wake-up)"
            )
            #expect(concurrent.isEmpty)
            #expect(staleAfterResume <= 1)
            #expect(try await client.list(limit: 1000).jobs.first { $0.requestID == id }?.attempts == 2)
            #expect(paused.isRunning)
        }
    }

    /// The manager's process may not write past a few MiB (RLIMIT_FSIZE), as on a full disk:
    /// enqueues fail with a clear error, nothing acknowledged is lost, the file is intact.
    @Test func aFullDiskFailsEnqueuesClearlyAndCorruptsNothing() async throws {
        try await withCluster(managerArguments: [], port: try freePort()) { cluster in
            await cluster.manager.stop()
            try await cluster.startManager(fileSizeLimitKiB: 4096)
            let client = cluster.client
            try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            _ = try await client.setPaused(.queue, name: "test", paused: true)
            var accepted: [String] = []
            var failure: EasyJobsError?
            let padding = String(repeating: "p", count: 16_000)
            for index in 0..<2_000 {
                do {
                    accepted.append(try await client.enqueue(queue: "test", task: "echo", arguments: ["value": .string("\(index) \(padding)")]))
                } catch let error as EasyJobsError {
                    failure = error
                    break
                }
            }
            let error = try #require(failure, "the file size limit was never reached")
            #expect(error.code == .storeFailure)
            #expect(error.message.contains("Could not enqueue jobs"))
            // Still answering reads.
            #expect(try await cluster.request(.GET, "/health").0 == 200)
            await cluster.manager.stop()
            try await cluster.startManager()
            let stored = Set(try await client.list(limit: 1000).jobs.map(\.requestID))
            #expect(accepted.allSatisfy(stored.contains))
            print(
                "fault: disk full (RLIMIT_FSIZE 4 MiB): \(accepted.count) enqueues acknowledged, then '\(error.message)'; after restart all \(accepted.count) present"
            )
        }
    }

    /// A data directory that became read-only (a remount after a disk error, a wrong volume
    /// mount): the manager refuses to start with one clear line naming the database, writes
    /// nothing, and starts normally with every job once the directory is writable again.
    ///
    /// Also after a manager that was killed: its -wal and -shm files stay, and SQLite opens a
    /// WAL database on a read-only mount when they are there (seen on CI: the manager started
    /// and every write failed).
    @Test(arguments: [SIGTERM, SIGKILL])
    func aReadOnlyDataDirectoryIsRefusedClearlyAndCorruptsNothing(managerStoppedWith signal: Int32) async throws {
        try await withCluster(managerArguments: [], port: try freePort()) { cluster in
            try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            _ = try await cluster.client.setPaused(.queue, name: "test", paused: true)
            var enqueued: [String] = []
            for index in 0..<20 {
                enqueued.append(try await cluster.client.enqueue(queue: "test", task: "echo", arguments: ["value": .int(index)]))
            }
            await cluster.manager.stop(signal: signal)
            let directory = cluster.dataDirectory.path
            // Root ignores permission bits, so the directory is made read-only by a read-only bind mount.
            try run("/bin/mount", ["--bind", directory, directory])
            defer { _ = try? run("/bin/umount", [directory]) }
            try run("/bin/mount", ["-o", "remount,ro,bind", directory])
            #expect(
                !FileManager.default.isWritableFile(atPath: directory + "/easyjobs.sqlite")
                    || (try? Data().write(to: URL(fileURLWithPath: directory + "/probe"))) == nil)

            let refused = try ChildProcess(label: "manager read-only", arguments: ["manager", "--port", "\(cluster.port)", "--data-dir", directory])
            do {
                try await waitUntil("the manager gives up", timeout: .seconds(90)) { !refused.isRunning }
            } catch {
                // What it was doing instead, for the next person: it should have stopped at once.
                Issue.record("the manager on a read-only directory still runs; stderr: \(refused.stderr.suffix(3000))")
                await refused.stop(signal: SIGKILL)
                throw error
            }
            // Gone, but what it wrote may still be on its way through the pipe (seen on CI: the
            // message read as empty): wait for the pipes' end before reading it.
            #expect(try await refused.waitForExit(timeout: .seconds(5)) != 0)
            let message = refused.stderr
            #expect(message.contains("easyjobs.sqlite"), "stderr: \(message)")
            #expect(message.contains("read-only file system"), "stderr: \(message)")
            #expect(message.split(separator: "\n").count <= 3, "one clear line, got: \(message)")

            try run("/bin/umount", [directory])
            try await cluster.startManager()
            let stored = Set(try await cluster.client.list(limit: 100).jobs.map(\.requestID))
            #expect(Set(enqueued) == stored)
            print(
                "fault: read-only data dir: manager refused to start with '\(message.trimmingCharacters(in: .whitespacesAndNewlines))'; after remounting read-write all \(enqueued.count) jobs present"
            )
        }
    }

    @discardableResult
    private func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw EasyJobsError(
                .internalError,
                "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): this fault test needs to bind-mount as root")
        }
        return process.terminationStatus
    }
}

/// Request ids of enqueues the manager answered, from many tasks.
final class AnsweredIDs: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String] = []
    func add(_ id: String) { lock.lock(); ids.append(id); lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return ids.count }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return ids }
}
