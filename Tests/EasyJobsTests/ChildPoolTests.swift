import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The host's pool of idle subprocess children: started ahead of their jobs, one job each,
/// never a job for a version no longer served, none left behind by a host that stops or dies.
@Suite(.serialized) struct ChildPoolTests {
    func pid(of id: String, in cluster: TestCluster) async throws -> Int32 {
        guard case .completed(.int(let pid)) = try await cluster.client.pullResult(id: id, wait: 30) else {
            throw TestFailure("job \(id) did not complete with a pid")
        }
        return Int32(pid)
    }

    @Test func pooledChildrenWaitWithNoTokenAndRunOneJobEach() async throws {
        try await withCluster { cluster in
            let host = try await cluster.startHost(
                name: "pooled", queue: "c", plugins: ["Crashers"], maxTasks: 1, environment: ["EASYJOBS_SECRET": cluster.secret!])
            try await waitUntil("the pool has two idle children") { idleChildren(of: host.pid).count == 2 }
            let idle = Set(idleChildren(of: host.pid))
            for child in idle {
                // Nothing but the command: no token, no job, no host credentials.
                #expect(commandLine(child).dropFirst() == ["run-task"])
                #expect(!environment(of: child).contains { $0.hasPrefix("EASYJOBS_SECRET=") || $0.hasPrefix("EASYJOBS_API_TOKEN=") })
            }
            #expect(childProcesses(of: host.pid).isEmpty)

            let first = try await pid(of: try await cluster.client.enqueue(queue: "c", task: "pid"), in: cluster)
            // The job ran in a child that was waiting before it was enqueued, and it ran no other.
            #expect(idle.contains(first))
            try await waitUntil("the first child has exited") { !isAlive(first) }
            let idleBeforeSecond = Set(idleChildren(of: host.pid))
            let second = try await pid(of: try await cluster.client.enqueue(queue: "c", task: "pid"), in: cluster)
            #expect(second != first)
            #expect(idle.union(idleBeforeSecond).contains(second))
            try await waitUntil("the second child has exited") { !isAlive(second) }

            // The pool is kept full with new children.
            try await waitUntil("the pool is full again") {
                let now = idleChildren(of: host.pid)
                return now.count == 2 && !now.contains(first) && !now.contains(second)
            }
            #expect(
                try await cluster.client.pullResult(id: try await cluster.client.enqueue(queue: "c", task: "sees_secret"), wait: 30)
                    == .completed(false))
        }
    }

    @Test func anIdleChildThatDiesIsReplacedAfterABackoff() async throws {
        try await withCluster { cluster in
            let host = try await cluster.startHost(name: "replacing", queue: "c", plugins: ["Crashers"])
            try await waitUntil("the pool is full") { idleChildren(of: host.pid).count == 2 }
            let victim = try #require(idleChildren(of: host.pid).first)
            kill(victim, SIGKILL)
            try await waitUntil("the dead child is replaced") {
                let now = idleChildren(of: host.pid)
                return now.count == 2 && !now.contains(victim)
            }
            #expect(host.stderr.contains("an idle subprocess child was killed by SIGKILL; starting another in 0.5 s"))
            #expect(try await pid(of: try await cluster.client.enqueue(queue: "c", task: "pid"), in: cluster) != victim)
        }
    }

    @Test func withoutAPoolEachJobStartsItsOwnChild() async throws {
        try await withCluster { cluster in
            let host = try await cluster.startHost(
                name: "unpooled", queue: "c", plugins: ["Crashers"], environment: ["EASYJOBS_SUBPROCESS_POOL": "0"])
            let first = try await pid(of: try await cluster.client.enqueue(queue: "c", task: "pid"), in: cluster)
            let second = try await pid(of: try await cluster.client.enqueue(queue: "c", task: "pid"), in: cluster)
            #expect(first != second && first != host.pid)
            #expect(idleChildren(of: host.pid).isEmpty)
        }
    }

    @Test func limitsStillEndJobsRunByPooledChildren() async throws {
        try await withCluster { cluster in
            // A crash report that stalls (seen on CI for hog_memory) ends in 10 s, within the wait.
            let host = try await cluster.startHost(
                name: "limits", queue: "c", plugins: ["Crashers"], maxTasks: 1, environment: ["EASYJOBS_CRASH_REPORT_GRACE": "10"])
            for (task, message) in [("hog_memory", "exceeded its memory limit of 1024 MiB"), ("burn_cpu", "exceeded its CPU time limit of 1 s")] {
                try await waitUntil("the pool is full") { idleChildren(of: host.pid).count == 2 }
                let idle = Set(idleChildren(of: host.pid))
                let id = try await cluster.client.enqueue(queue: "c", task: task)
                let outcome = try await cluster.client.pullResult(id: id, wait: 120)
                guard case .failed(let error) = outcome else {
                    // Seen once under a full run's load: what the job and the host said tells why.
                    let view = try await cluster.client.viewResult(id: id)
                    throw TestFailure(
                        "\(task) did not fail: \(outcome), job \(view.status) attempts \(view.attempts); host stderr: \(host.stderr.suffix(3000))")
                }
                #expect(error.message.hasPrefix(message))
                // It was one of the children waiting in the pool (an idle child ends only with a job).
                #expect(idle.contains { !isAlive($0) })
            }
            #expect(host.isRunning)
        }
    }

    @Test func aReplacedVersionsIdleChildrenEndAndNeverRunItsJobs() async throws {
        try await withCluster { cluster in
            let directory = try cluster.directory.subdirectory("plugins-pool-reload")
            try PluginFiles.install(try PluginFiles.versioned(1), as: "libVersioned.so", in: directory)
            let host = try await cluster.startHost(name: "reloader", queue: "v", plugins: [], pluginDirectory: directory)
            try await waitUntil("version 1 has idle children") { idleChildren(of: host.pid).count == 2 }
            let oldChildren = idleChildren(of: host.pid)
            #expect(
                try await cluster.client.pullResult(id: try await cluster.client.enqueue(queue: "v", task: "version_in_child"), wait: 30)
                    == .completed(1))

            try PluginFiles.install(try PluginFiles.versioned(2), as: "libVersioned.so", in: directory)
            try await waitUntil("version 2 serves") {
                try await cluster.client.hosts().first { $0.name == "reloader" }?.plugins.first { $0.name == "versioned" }?.version == "2"
            }
            // Every child of version 1 still idle is ended, by its pid.
            try await waitUntil("version 1's idle children have exited", timeout: .seconds(5)) { oldChildren.allSatisfy { !isAlive($0) } }
            for _ in 0..<4 {
                let id = try await cluster.client.enqueue(queue: "v", task: "version_in_child")
                try await waitUntil("the job finishes") { try await cluster.client.viewResult(id: id).status.isFinished }
                let view = try await cluster.client.viewResult(id: id)
                #expect(view.result == 2)
                #expect(view.plugin?.version == "2")
            }
            try await waitUntil("version 2 has idle children") { idleChildren(of: host.pid).count == 2 }
            let newChildren = idleChildren(of: host.pid)
            #expect(Set(newChildren).isDisjoint(with: oldChildren))

            // Removed: its idle children end and none is started again.
            try FileManager.default.removeItem(at: directory.appendingPathComponent("libVersioned.so"))
            try await waitUntil("the removed version's idle children have exited", timeout: .seconds(10)) { newChildren.allSatisfy { !isAlive($0) } }
            #expect(idleChildren(of: host.pid).isEmpty)
        }
    }

    @Test func idleChildrenEndWithTheirHostWhetherItStopsOrIsKilled() async throws {
        try await withCluster { cluster in
            let stopping = try await cluster.startHost(name: "stopping", queue: "c", plugins: ["Crashers"])
            try await waitUntil("the pool is full") { idleChildren(of: stopping.pid).count == 2 }
            let stoppingChildren = idleChildren(of: stopping.pid)
            await stopping.stop(signal: SIGTERM)
            #expect(!stopping.isRunning)
            try await waitUntil("the idle children have exited", timeout: .seconds(2)) { stoppingChildren.allSatisfy { !isAlive($0) } }

            let doomed = try await cluster.startHost(name: "doomed", queue: "c", plugins: ["Crashers"])
            try await waitUntil("the pool is full") { idleChildren(of: doomed.pid).count == 2 }
            let doomedChildren = idleChildren(of: doomed.pid)
            // Longer than the concurrency pool keeps an idle thread (5 s): a child must not take
            // the end of the thread that started it for its host's death.
            try await Task.sleep(for: .seconds(7))
            #expect(doomedChildren.allSatisfy { isAlive($0) })
            #expect(Set(idleChildren(of: doomed.pid)) == Set(doomedChildren))
            await doomed.stop(signal: SIGKILL)
            try await waitUntil("the idle children have exited", timeout: .seconds(5)) { doomedChildren.allSatisfy { !isAlive($0) } }
        }
    }
}
