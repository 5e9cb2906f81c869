import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Subprocess tasks: isolation, supervision, tokens, logs, cancellation and stopping hosts.
@Suite(.serialized) struct SubprocessTests {
    func failure(of id: String, in cluster: TestCluster) async throws -> String {
        guard case .failed(let error) = try await cluster.client.pullResult(id: id, within: .seconds(240)) else {
            throw TestFailure("job \(id) did not fail")
        }
        return error.message
    }

    /// Regression: a child that crashed and whose backtrace never finished (CI, `hog_memory`
    /// under load) kept its job running for good, since only its exit ends the job.
    @Test func aCrashedChildThatDoesNotExitIsKilledAndItsJobFails() async throws {
        try await withCluster { cluster in
            let host = try await cluster.startHost(
                name: "stalling", queue: "c", plugins: ["Crashers"], environment: ["EASYJOBS_CRASH_REPORT_GRACE": "3"])
            let id = try await cluster.client.enqueue(queue: "c", task: "stalls_while_crashing")
            let message = try await failure(of: id, in: cluster)
            #expect(
                message.hasPrefix("the child crashed and had not exited 3 s later (its crash report unfinished): killed by SIGKILL"), "\(message)")
            #expect(message.contains("Fatal error: pretending to crash"))
            #expect(host.stderr.contains("a subprocess child that crashed had not exited 3 s later; killed it"))
            #expect(host.isRunning)
            #expect(
                try await failure(of: try await cluster.client.enqueue(queue: "c", task: "fails_in_child"), in: cluster) == "failed inside the child")
        }
    }

    @Test func misbehavingChildrenEndWithTheRightReasonAndTheHostKeepsServing() async throws {
        try await withCluster { cluster in
            // Seven children crash at once: their backtraces may take long on a loaded machine,
            // and this test is about how each ends, not about the crash-report grace.
            let host = try await cluster.startHost(
                name: "crashers", queue: "c", plugins: ["Crashers"],
                environment: ["EASYJOBS_SECRET": cluster.secret!, "EASYJOBS_CRASH_REPORT_GRACE": "200"])
            let unwrap = try await cluster.client.enqueue(queue: "c", task: "unwrap_nil")
            let null = try await cluster.client.enqueue(queue: "c", task: "write_null")
            let hang = try await cluster.client.enqueue(queue: "c", task: "hang")
            let hog = try await cluster.client.enqueue(queue: "c", task: "hog_memory")
            let burn = try await cluster.client.enqueue(queue: "c", task: "burn_cpu")
            let fails = try await cluster.client.enqueue(queue: "c", task: "fails_in_child")
            let chatty = try await cluster.client.enqueue(queue: "c", task: "chatty", arguments: ["lines": 3])

            let unwrapError = try await failure(of: unwrap, in: cluster)
            #expect(unwrapError.hasPrefix("the child was killed by SIGILL (signal 4)") || unwrapError.hasPrefix("the child was killed by SIGTRAP"))
            #expect(unwrapError.contains("CrashersPlugin.swift:"))
            #expect(unwrapError.contains("Unexpectedly found nil while unwrapping an Optional value"))

            let nullError = try await failure(of: null, in: cluster)
            #expect(nullError.hasPrefix("the child was killed by SIGSEGV (signal 11)"))
            #expect(nullError.contains("CrashersPlugin.swift:"))

            #expect(try await failure(of: hang, in: cluster) == "timed out after 1 s")
            #expect(try await failure(of: hog, in: cluster).hasPrefix("exceeded its memory limit of 1024 MiB"))
            #expect(try await failure(of: burn, in: cluster).hasPrefix("exceeded its CPU time limit of 1 s"))
            #expect(try await failure(of: fails, in: cluster) == "failed inside the child")
            #expect(try await cluster.client.pullResult(id: chatty, wait: 30) == .completed(3))

            // Output is the job's log and the host's output.
            try await waitUntil("the log arrives") { try await cluster.client.log(id: chatty).lines.count >= 4 }
            let log = try await cluster.client.log(id: chatty).lines
            #expect(log.filter { $0.stream == .stdout }.map(\.line) == ["line 1 of 3", "line 2 of 3", "line 3 of 3"])
            #expect(log.contains { $0.stream == .stderr && $0.line == "warning: a warning from the child" })
            #expect(host.stdout.contains("line 1 of 3\nline 2 of 3\nline 3 of 3\n"))
            #expect(host.stderr.contains("child: warning: a warning from the child"))

            // The host survived all of it, and runs tasks in a process of their own.
            #expect(host.isRunning)
            guard
                case .completed(.int(let childPID)) = try await cluster.client.pullResult(
                    id: try await cluster.client.enqueue(queue: "c", task: "pid"), wait: 30)
            else {
                Issue.record("pid did not complete")
                return
            }
            #expect(childPID != host.pid)
            try await waitUntil("the child has exited") { !isAlive(Int32(childPID)) }
            // The child never sees the host's secret, even when the host got it from its environment.
            let secret = try await cluster.client.enqueue(queue: "c", task: "sees_secret")
            #expect(try await cluster.client.pullResult(id: secret, wait: 30) == .completed(false))
            try await waitUntil("no child is left") { childProcesses(of: host.pid).isEmpty }
        }
    }

    @Test func theETLComputeRunsInAChild() async throws {
        try await withCluster { cluster in
            let host = try await cluster.startHost(name: "etl", queue: "ETL", plugins: ["ETL"], environment: ["EASYJOBS_ETL_SLEEP": "0.05"])
            let id = try await cluster.client.enqueue(queue: "ETL", task: "compute", arguments: ["data": ["x": 1]])
            #expect(
                try await cluster.client.pullResult(id: id, wait: 30)
                    == .completed(["result": "I slept for 0.05 seconds - blocking - with data", "x": 1]))
            #expect(host.stdout.contains("starting heavy computation on {'x': 1}"))
            try await waitUntil("the log arrives") { !(try await cluster.client.log(id: id).lines.isEmpty) }
            #expect(try await cluster.client.log(id: id).lines.first?.line == "starting heavy computation on {'x': 1}")
        }
    }

    @Test func aJobTokenReportsExactlyItsOwnRunAndNothingElse() async throws {
        try await withCluster { cluster in
            // This test is the host: it claims the jobs itself to hold their tokens.
            let spec = TaskSpec(name: "isolated", options: TaskOptions(subprocess: true))
            let plain = TaskSpec(name: "plain")
            let plugin = PluginInfo(name: "fake", version: "1", sha256: "0", abi: "1.1", tasks: [spec, plain])
            let host = HostRegistration(hostID: "test-host", name: "test-host", queue: "t", maxTasks: 2, plugins: [plugin], refused: [])
            // One client: it keeps the session the registration returns.
            let client = cluster.client
            _ = try await client.register(host)
            let first = try await client.enqueue(queue: "t", task: "isolated")
            let second = try await client.enqueue(queue: "t", task: "isolated")
            let claimed = try await client.claim(ClaimRequest(hostID: "test-host", max: 2, wait: 5)).jobs
            #expect(claimed.count == 2)
            let firstToken = try #require(claimed.first { $0.jobID == first }?.token)
            #expect(claimed.first { $0.jobID == second }?.token != nil)

            let leases = Dictionary(uniqueKeysWithValues: claimed.map { ($0.jobID, $0.lease) })
            func report(_ id: String, lease: Int? = nil, token: String) async throws -> (Int, JSONValue?) {
                let report = JobReport(jobID: id, lease: lease ?? leases[id] ?? 0, outcome: .completed(1))
                let body = String(decoding: report.encoded(), as: UTF8.self)
                return try await cluster.request(.POST, "/job/report", body: body, headers: ["X-EasyJobs-Job-Token": token])
            }
            // Forged, and borrowed from another job: refused, nothing changes.
            #expect(try await report(first, token: "1.forged").0 == 403)
            let (status, body) = try await report(second, token: firstToken)
            #expect(status == 403)
            #expect(
                body?["error"]?["message"]?.stringValue?.contains("the job token is for job '\(first)' (lease \(leases[first]!)), not '\(second)'")
                    == true)
            // Its own job under another lease (an earlier or later run): refused too.
            #expect(try await report(first, lease: leases[first]! + 1, token: firstToken).0 == 403)
            #expect(try await cluster.client.viewResult(id: first).status == .running)
            #expect(try await cluster.client.viewResult(id: second).status == .running)
            // The host secret is not a job token either.
            #expect(try await report(first, token: "test-secret").0 == 403)

            // Its own job: accepted once.
            #expect(try await report(first, token: firstToken).0 == 200)
            #expect(try await cluster.client.viewResult(id: first).status == .completed)
            // Reused after the run ended: refused, the result stays.
            let (reused, reusedBody) = try await report(first, token: firstToken)
            #expect(reused == 403)
            #expect(reusedBody?["error"]?["message"]?.stringValue?.contains("that run has ended") == true)
            #expect(try await cluster.client.viewResult(id: first).result == 1)

            // A job of a task that is not a subprocess task gets no token.
            let third = try await client.enqueue(queue: "t", task: "plain")
            let plainClaim = try await client.claim(ClaimRequest(hostID: "test-host", max: 1, wait: 5)).jobs
            #expect(plainClaim.map(\.jobID) == [third])
            #expect(plainClaim.first?.token == nil)
        }
    }

    @Test func cancellingQueuedInProcessAndSubprocessJobs() async throws {
        try await withCluster { cluster in
            let host = try await cluster.startHost(name: "crashers", queue: "c", plugins: ["Crashers"], maxTasks: 2)
            // A running subprocess job and a running in-process job fill both slots…
            let child = try await cluster.client.enqueue(queue: "c", task: "sleep_blocking", arguments: ["seconds": 30])
            let inProcess = try await cluster.client.enqueue(queue: "c", task: "cooperative_wait", arguments: ["seconds": 30])
            try await waitUntil("both run") {
                let childStatus = try await cluster.client.viewResult(id: child).status
                let inProcessStatus = try await cluster.client.viewResult(id: inProcess).status
                return childStatus == .running && inProcessStatus == .running && !childProcesses(of: host.pid).isEmpty
            }
            // …so this one stays queued.
            let queued = try await cluster.client.enqueue(queue: "c", task: "pid")
            let cancelledQueued = try await cluster.client.cancel(id: queued)
            #expect(cancelledQueued.status == .cancelled)

            let childPIDs = childProcesses(of: host.pid)
            #expect(childPIDs.count == 1)
            let asked = try await cluster.client.cancel(id: child)
            #expect(asked.status == .running && asked.cancelRequested)
            _ = try await cluster.client.cancel(id: inProcess)
            try await waitUntil("both end cancelled", timeout: .seconds(20)) {
                let childStatus = try await cluster.client.viewResult(id: child).status
                let inProcessStatus = try await cluster.client.viewResult(id: inProcess).status
                return childStatus == .cancelled && inProcessStatus == .cancelled
            }
            #expect(try await cluster.client.viewResult(id: child).error == "cancelled: its child process was stopped")
            #expect(try await cluster.client.viewResult(id: inProcess).error?.hasPrefix("cancelled while running") == true)
            for pid in childPIDs { #expect(!isAlive(pid)) }

            // The queued one never started.
            try await Task.sleep(for: .milliseconds(500))
            let never = try await cluster.client.viewResult(id: queued)
            #expect(never.status == .cancelled && never.startedAt == nil && never.attempts == 0)

            // A pipeline waiting on a cancelled job fails with that reason.
            let parent = try await cluster.client.enqueue(queue: "c", task: "waits_for_slow")
            let dependency = try #require(try await cluster.client.viewResult(id: parent).waitsOn.first)
            try await waitUntil("the dependency runs") { try await cluster.client.viewResult(id: dependency.requestID).status == .running }
            _ = try await cluster.client.cancel(id: dependency.requestID)
            guard case .failed(let error) = try await cluster.client.pullResult(id: parent, wait: 20) else {
                Issue.record("the parent should fail")
                return
            }
            #expect(error.message == "run_before task 'slow_dependency' (job \(dependency.requestID)) was cancelled")
        }
    }

    @Test func aStoppingHostHandsBackWhatOutlivesItsGraceAndLeavesNoChild() async throws {
        try await withCluster { cluster in
            let directory = try cluster.directory.pluginDirectory("graceful", plugins: ["Crashers"])
            var arguments = [
                "host", "--manager", cluster.url, "--plugins", directory.path, "--queue", "c", "--name", "leaving", "--shutdown-grace", "1",
            ]
            arguments += ["--secret", cluster.secret!]
            let host = try ChildProcess(label: "host leaving", arguments: arguments)
            try await waitUntil("the host registers") { try await cluster.client.hosts().contains { $0.name == "leaving" && $0.online } }
            let id = try await cluster.client.enqueue(queue: "c", task: "sleep_blocking", arguments: ["seconds": 30])
            try await waitUntil("the child runs") { !childProcesses(of: host.pid).isEmpty }
            let children = childProcesses(of: host.pid)
            await host.stop(signal: SIGTERM, timeout: .seconds(15))
            #expect(!host.isRunning)
            for pid in children { #expect(!isAlive(pid)) }
            let view = try await cluster.client.viewResult(id: id)
            #expect(view.status == .queued)
            // Handed back by a graceful stop: not the job's fault, so the try is refunded.
            #expect(view.attempts == 0)
            #expect(host.stderr.contains("grace period over"))
        }
    }

    @Test func aKilledHostsChildrenDieWithIt() async throws {
        try await withCluster { cluster in
            let host = try await cluster.startHost(name: "doomed", queue: "c", plugins: ["Crashers"])
            _ = try await cluster.client.enqueue(queue: "c", task: "sleep_blocking", arguments: ["seconds": 30])
            try await waitUntil("the child runs") { !childProcesses(of: host.pid).isEmpty }
            let children = childProcesses(of: host.pid)
            await host.stop(signal: SIGKILL)
            try await waitUntil("the children exit", timeout: .seconds(5)) { children.allSatisfy { !isAlive($0) } }
        }
    }
}
