import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Several managers on one PostgreSQL database (issue 11), as real processes: managers, hosts
/// that know both managers, a real server started by scripts/test.sh.
@Suite(.serialized) struct ScaleOutTests {
    static let secret = "scale-secret"

    /// Every job of `queue`, newest first; the queue must be quiet (paging is by offset).
    static func jobs(of queue: String, _ client: ManagerClient) async throws -> [JobView] {
        var jobs: [JobView] = []
        while true {
            let page = try await client.list(queue: queue, limit: 1000, offset: jobs.count).jobs
            jobs += page
            if page.count < 1000 { return jobs }
        }
    }

    /// Two managers, three hosts; a stream of jobs through alternating managers, and one manager
    /// SIGKILLed half-way: nothing answered is lost, nothing runs twice at once, and the schedule
    /// fires each time once.
    @Test func twoManagersAndThreeHostsLoseNothingWhenAManagerDies() async throws {
        let database = try ClusterStore.createDatabase()
        defer { ClusterStore.dropDatabase(database) }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var processes: [ChildProcess] = []
        defer { for process in processes { kill(process.pid, SIGKILL) } }

        func manager(_ name: String) async throws -> (ChildProcess, String) {
            let process = try ChildProcess(
                label: "manager \(name)",
                arguments: [
                    "manager", "--port", "0", "--data-dir", try directory.subdirectory("manager-\(name)").path, "--store", database,
                    "--secret", Self.secret, "--lease", "5",
                ])
            processes.append(process)
            return (process, try await process.waitForOutput(#"listening on (http://\S+)"#))
        }
        let (first, urlA) = try await manager("a")
        let (_, urlB) = try await manager("b")
        let file = directory.url.appendingPathComponent("ticks").path

        // Each host knows both managers and moves to the other when its own is gone.
        for (index, managers) in ["\(urlA),\(urlB)", "\(urlB),\(urlA)", "\(urlA),\(urlB)"].enumerated() {
            processes.append(
                try ChildProcess(
                    label: "host \(index)",
                    arguments: [
                        "host", "--manager", managers, "--secret", Self.secret, "--queue", "c", "--name", "worker-\(index)", "--max-tasks", "20",
                        "--plugins", try directory.pluginDirectory("plugins-\(index)", plugins: ["Crashers"]).path,
                        "--data-dir", try directory.subdirectory("host-\(index)").path,
                    ]))
        }
        processes.append(
            try ChildProcess(
                label: "ticker",
                arguments: [
                    "host", "--manager", "\(urlB),\(urlA)", "--secret", Self.secret, "--queue", "s", "--name", "ticker",
                    "--plugins", try directory.pluginDirectory("plugins-ticker", plugins: ["Scheduled"]).path,
                    "--data-dir", try directory.subdirectory("host-ticker").path,
                ]))
        let clients = [ManagerClient(baseURL: "\(urlA),\(urlB)"), ManagerClient(baseURL: "\(urlB),\(urlA)")]
        // Both managers see all four hosts, whichever each registered with.
        for client in clients {
            try await waitUntil("every host is known to \(client.baseURL)", timeout: .seconds(30)) {
                try await client.hosts().filter(\.online).count == 4
            }
        }

        let total = 5_000 * FaultTests.scale
        let answered = AnsweredIDs()
        let killSwitch = KillSwitch(pid: first.pid)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var index = worker
                    while index < total {
                        // Half-way: the first manager dies with enqueues in flight.
                        if index >= total / 2 { killSwitch.pull() }
                        let client = clients[index % 2]
                        do {
                            answered.add(try await client.enqueue(queue: "c", task: "tick", arguments: ["seconds": 0.001, "path": .string(file)]))
                            index += 8
                        } catch let error as EasyJobsError where error.code == .managerUnavailable {
                            // Not answered, so not promised: the client now uses the other manager.
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let survivor = clients[1]
        try await waitUntil("every answered job completes", timeout: .seconds(300)) {
            // Committed but unanswered enqueues complete too: wait for the queue to drain.
            let stats = try await survivor.stats(queue: "c")
            return stats["completed", default: 0] >= answered.count && stats["queued", default: 0] == 0 && stats["running", default: 0] == 0
        }
        let views = try await Self.jobs(of: "c", survivor)
        let completed = views.filter { $0.status == .completed }
        let runs = try FaultTests.ticks(file)
        let concurrent = FaultTests.concurrentRuns(runs)
        let rerun = runs.values.filter { $0.count > 1 }.count
        let missing = Set(answered.all).subtracting(completed.map(\.requestID))
        let ticks = try await Self.jobs(of: "s", survivor).filter { $0.task == "tick" }.compactMap(\.scheduledFor)
        print(
            "scale-out: 2 managers, 3 hosts, \(answered.count) answered enqueues (one manager SIGKILLed half-way): lost \(missing.count), completed \(completed.count) (enqueues committed but unanswered when the manager died are retried by the client as new jobs), run twice at once \(concurrent.count), run again after a lapsed lease \(rerun); schedule fired \(ticks.count) times, \(ticks.count - Set(ticks).count) twice"
        )
        #expect(answered.count == total)
        #expect(missing.isEmpty)
        #expect(concurrent.isEmpty)
        #expect(completed.count == Set(completed.map(\.requestID)).count)
        #expect(ticks.count >= 3)
        #expect(Set(ticks).count == ticks.count, "a schedule time fired twice")
    }

    /// What one manager is told reaches a host that talks only to the other: an enqueue wakes
    /// its long poll, a pause stops its claims, a cancel stops its running job.
    @Test func anEnqueuePauseAndCancelOnOneManagerReachAHostOfTheOther() async throws {
        let database = try ClusterStore.createDatabase()
        defer { ClusterStore.dropDatabase(database) }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var processes: [ChildProcess] = []
        defer { for process in processes { kill(process.pid, SIGKILL) } }
        var urls: [String] = []
        for name in ["a", "b"] {
            let process = try ChildProcess(
                label: "manager \(name)",
                arguments: [
                    "manager", "--port", "0", "--data-dir", try directory.subdirectory("manager-\(name)").path, "--store", database,
                    "--secret", Self.secret,
                ])
            processes.append(process)
            urls.append(try await process.waitForOutput(#"listening on (http://\S+)"#))
        }
        // The host knows only manager A; the test talks only to manager B.
        processes.append(
            try ChildProcess(
                label: "host",
                arguments: [
                    "host", "--manager", urls[0], "--secret", Self.secret, "--queue", "test", "--name", "only-a",
                    "--plugins", try directory.pluginDirectory("plugins", plugins: ["TestTasks"]).path,
                    "--data-dir", try directory.subdirectory("host").path,
                ]))
        let client = ManagerClient(baseURL: urls[1])
        try await waitUntil("manager B knows the host of manager A") { try await client.hosts().contains { $0.name == "only-a" && $0.online } }

        let quick = try await client.enqueue(queue: "test", task: "echo", arguments: ["value": "across"])
        #expect(try await client.pullResult(id: quick, wait: 10) == .completed(["value": "across"]))

        _ = try await client.setPaused(.queue, name: "test", paused: true)
        let held = try await client.enqueue(queue: "test", task: "echo", arguments: ["value": "held"])
        try await Task.sleep(for: .seconds(2))
        #expect(try await client.viewResult(id: held).status == .queued, "a pause on manager B must hold the host of manager A")
        _ = try await client.setPaused(.queue, name: "test", paused: false)
        #expect(try await client.pullResult(id: held, wait: 10) == .completed(["value": "held"]))

        let sleeper = try await client.enqueue(queue: "test", task: "sleep", arguments: ["seconds": 60])
        try await waitUntil("the sleeper runs") { try await client.viewResult(id: sleeper).status == .running }
        _ = try await client.cancel(id: sleeper)
        try await waitUntil("the host of manager A stops the cancelled job", timeout: .seconds(15)) {
            try await client.viewResult(id: sleeper).status == .cancelled
        }
    }
}

/// Kills a process once, whichever task gets there first.
final class KillSwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var pulled = false
    let pid: Int32

    init(pid: Int32) { self.pid = pid }

    func pull() {
        lock.lock()
        defer { lock.unlock() }
        guard !pulled else { return }
        pulled = true
        kill(pid, SIGKILL)
    }
}
