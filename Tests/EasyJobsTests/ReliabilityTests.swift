import EasyJobsClient
import EasyJobsCore
import Foundation
import NIOHTTP1
import EasyJobsHost
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Regressions of the faults and hostile input found by trying to break a live system
/// (issue 10). Each test failed before its fix.
@Suite(.serialized) struct ReliabilityTests {
    /// A host that dies running a job (a plugin that exits in the host's process) used to get
    /// the job back forever: lost leases never counted against `max_attempts`.
    @Test func aJobThatKillsItsHostFailsForGoodAfterItsAttempts() async throws {
        try await withCluster(managerArguments: ["--lease", "1"]) { cluster in
            var host = try await cluster.startHost(name: "victim", queue: "c", plugins: ["Crashers"])
            let id = try await cluster.client.enqueue(queue: "c", task: "exit_in_host")
            var deaths = 0
            try await waitUntil("the job fails for good", timeout: .seconds(60)) {
                if !host.isRunning {
                    deaths += 1
                    // A supervisor restarting the host, as systemd would.
                    host = try await cluster.startHost(name: "victim-\(deaths)", queue: "c", plugins: ["Crashers"])
                }
                return try await cluster.client.viewResult(id: id).status == .failed
            }
            let view = try await cluster.client.viewResult(id: id)
            #expect(view.error == "host died while running it (2 times)")
            #expect(view.attempts == 2)
            // It is not handed out again: a host serving the queue lives on and the job keeps its
            // two attempts. (The host that ran the second attempt may still be dying: `exit` runs
            // atexit handlers and can outlast a one-second lease on a loaded machine.)
            try await Task.sleep(for: .seconds(3))
            if !host.isRunning {
                host = try await cluster.startHost(name: "survivor", queue: "c", plugins: ["Crashers"])
            }
            try await Task.sleep(for: .seconds(2))
            #expect(host.isRunning)
            #expect(try await cluster.client.viewResult(id: id).attempts == 2)
        }
    }

    /// The ETL example trapped on overflow (taking its host down); it fails the job instead.
    @Test func theETLExampleFailsOnOverflowInsteadOfTrapping() async throws {
        try await withCluster { cluster in
            let host = try await cluster.startHost(name: "etl", queue: "ETL", plugins: ["ETL"], environment: EndToEndTests.fastETL)
            let id = try await cluster.client.enqueue(queue: "ETL", task: "transform", arguments: ["data": ["a": .int(Int.max)]])
            let outcome = try await cluster.client.pullResult(id: id, wait: 20)
            guard case .failed(let error) = outcome else {
                Issue.record("expected a failure, got \(outcome)")
                return
            }
            #expect(error.message.contains("too large to add 2 to"))
            #expect(host.isRunning)
        }
    }

    /// A registration with 200k chained tasks overflowed the stack in the cycle check, and was
    /// stored and replayed at start, so the manager crashed on every restart.
    @Test func aHugeRegistrationIsRefusedAndTheManagerRestarts() async throws {
        try await withCluster(port: try freePort()) { cluster in
            let tasks = (0..<200_000).map { #"{"name":"t\#($0)","options":{"run_after":["t\#(($0 + 1) % 200_000)"]}}"# }
            let body =
                #"{"host_id":"h","name":"h","queue":"q","max_tasks":1,"refused":[],"plugins":[{"name":"p","version":"1","sha256":"0","abi":"1.1","tasks":["#
                + tasks.joined(separator: ",") + "]}]}"
            // 14 MB on a loaded debug build: more time than the default.
            let (status, answer) = try await cluster.request(
                .POST, "/hosts/register", body: body, headers: ["X-EasyJobs-Secret": "test-secret"], timeout: .seconds(120))
            #expect(status == 413)
            #expect(answer?["error"]?["code"] == "payload_too_large")

            // Under the size limit, over the task limit: refused, naming the limit.
            let some = (0..<1_500).map { #"{"name":"t\#($0)","parameters":[],"options":{"run_after":["t\#(($0 + 1) % 1_500)"]}}"# }
            let (refused, reason) = try await cluster.request(
                .POST, "/hosts/register",
                body:
                    #"{"host_id":"h","name":"h","queue":"q","max_tasks":1,"refused":[],"plugins":[{"name":"p","version":"1","sha256":"0","abi":"1.1","tasks":["#
                    + some.joined(separator: ",") + "]}]}",
                headers: ["X-EasyJobs-Secret": "test-secret"])
            #expect(refused == 422)
            #expect(reason?["error"]?["message"]?.stringValue?.contains("at most 1000 are allowed") == true)

            // A long cycle across plugins within every limit is accepted and reported, not a crash.
            let plugins = (0..<20).map { plugin in
                let tasks = (0..<1_000).map { index -> String in
                    let number = plugin * 1_000 + index
                    return #"{"name":"t\#(number)","parameters":[],"options":{"run_after":["t\#((number + 1) % 20_000)"]}}"#
                }
                return #"{"name":"p\#(plugin)","version":"1","sha256":"0","abi":"1.1","tasks":[\#(tasks.joined(separator: ","))]}"#
            }
            let (accepted, _) = try await cluster.request(
                .POST, "/hosts/register",
                body: #"{"host_id":"h","name":"h","queue":"q","max_tasks":1,"refused":[],"plugins":[\#(plugins.joined(separator: ","))]}"#,
                headers: ["X-EasyJobs-Secret": "test-secret"], timeout: .seconds(120))
            #expect(accepted == 200)
            await cluster.manager.stop()
            try await cluster.startManager()
            let hosts = try await cluster.client.hosts()
            #expect(hosts.first { $0.hostID == "h" }?.problems.contains { $0.contains("cycle through run_before/run_after") } == true)
        }
    }

    /// JSON nested ~505-512 levels parsed but could not be encoded again: claims answered 500
    /// with jobs stranded, `/jobs` answered 500. One limit (64) at the edge, with a 400.
    @Test func deeplyNestedJSONIsRefusedAtTheEdge() async throws {
        try await withCluster { cluster in
            try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            func nested(_ levels: Int) -> String {
                String(repeating: #"{"k":"#, count: levels) + "1" + String(repeating: "}", count: levels)
            }
            // Depth 64 in all: the argument object plus 63 levels inside it.
            let (ok, body) = try await cluster.request(.POST, "/test/task/echo", body: #"{"value":"# + nested(63) + "}")
            #expect(ok == 200, "\(String(describing: body))")
            let (tooDeep, error) = try await cluster.request(.POST, "/test/task/echo", body: #"{"value":"# + nested(64) + "}")
            #expect(tooDeep == 400)
            #expect(error?["error"]?["message"]?.stringValue?.contains("deeper than 64 levels") == true)
            let (deep510, _) = try await cluster.request(.POST, "/test/task/echo", body: #"{"value":"# + nested(510) + "}")
            #expect(deep510 == 400)
            // Everything still answers.
            #expect(try await cluster.request(.GET, "/jobs").0 == 200)
            let id = try XCTUnwrapID(body)
            // The deepest allowed value goes through a host and back.
            guard case .completed(let result) = try await cluster.client.pullResult(id: id, wait: 20) else {
                Issue.record("the depth-64 job did not complete")
                return
            }
            #expect(JSONNesting.depth(of: result) == 64)
        }
    }

    /// A result the manager refuses (4xx) was retried forever by the host's reporter; now the
    /// job fails saying why, and the host goes on.
    @Test func aResultTheManagerRefusesFailsTheJobInsteadOfRetryingForever() async throws {
        try await withCluster(managerArguments: ["--max-report", "65536"]) { cluster in
            let host = try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            let big = String(repeating: "x", count: 100_000)
            let id = try await cluster.client.enqueue(queue: "test", task: "echo", arguments: ["value": .string(big)])
            let outcome = try await cluster.client.pullResult(id: id, wait: 20)
            guard case .failed(let error) = outcome else {
                Issue.record("expected a failure, got \(outcome)")
                return
            }
            #expect(error.message.contains("the manager refused the job's result"))
            #expect(error.message.contains("over the limit of 65536 bytes"))
            let next = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": 1, "b": 2])
            #expect(try await cluster.client.pullResult(id: next, wait: 20) == .completed(3))
            #expect(host.isRunning)
        }
    }

    /// Hosts had no identity beyond a body field: anyone with the secret could report, release
    /// or unregister another host's jobs. Sessions are issued at registration.
    @Test func aHostCannotActForAnother() async throws {
        try await withCluster { cluster in
            let plugin = PluginInfo(name: "fake", version: "1", sha256: "0", abi: "1.1", tasks: [TaskSpec(name: "work")])
            let alice = cluster.client
            let mallory = cluster.client
            _ = try await alice.register(HostRegistration(hostID: "alice", name: "alice", queue: "q", maxTasks: 1, plugins: [plugin], refused: []))
            _ = try await mallory.register(
                HostRegistration(hostID: "mallory", name: "mallory", queue: "q", maxTasks: 1, plugins: [plugin], refused: []))
            let id = try await alice.enqueue(queue: "q", task: "work")
            let claimed = try #require(try await alice.claim(ClaimRequest(hostID: "alice", max: 1, wait: 5)).jobs.first)
            #expect(claimed.jobID == id)

            // Mallory's session speaking for alice: refused, nothing changes.
            await #expect(throws: EasyJobsError.self) {
                _ = try await mallory.report(
                    ReportRequest(hostID: "alice", reports: [JobReport(jobID: id, lease: claimed.lease, outcome: .completed("forged"))]))
            }
            await #expect(throws: EasyJobsError.self) { _ = try await mallory.release(ReleaseRequest(hostID: "alice", jobs: [claimed.leased])) }
            await #expect(throws: EasyJobsError.self) { _ = try await mallory.unregister(UnregisterRequest(hostID: "alice")) }
            // Mallory's own name does not help either: the job is alice's.
            let own = try await mallory.report(
                ReportRequest(hostID: "mallory", reports: [JobReport(jobID: id, lease: claimed.lease, outcome: .completed("forged"))]))
            #expect(own.rejected == [id])
            #expect(try await alice.viewResult(id: id).status == .running)

            // Taking over alice's id while she is online: refused.
            let thief = cluster.client
            do {
                _ = try await thief.register(
                    HostRegistration(hostID: "alice", name: "thief", queue: "q", maxTasks: 1, plugins: [plugin], refused: []))
                Issue.record("a second registration of an online host's id was accepted")
            } catch let error as EasyJobsError {
                #expect(error.code == .hostIDInUse)
            }
            // Alice herself registers again with her session and goes on.
            _ = try await alice.register(HostRegistration(hostID: "alice", name: "alice", queue: "q", maxTasks: 1, plugins: [plugin], refused: []))
            let done = try await alice.report(
                ReportRequest(hostID: "alice", reports: [JobReport(jobID: id, lease: claimed.lease, outcome: .completed("real"))]))
            #expect(done.rejected.isEmpty)
            #expect(try await alice.viewResult(id: id).result == "real")
        }
    }

    /// `/job/report` read a 64 MiB body before checking the token.
    @Test func aChildReportWithoutAValidTokenIsRefusedBeforeItsBodyIsRead() async throws {
        try await withCluster(managerArguments: ["--max-report", "1024"]) { cluster in
            let body = #"{"job_id":"x","outcome":{"status":"completed","result":""# + String(repeating: "y", count: 4096) + #""}}"#
            let (status, answer) = try await cluster.request(.POST, "/job/report", body: body, headers: ["X-EasyJobs-Job-Token": "x.1.forged"])
            #expect(status == 403)
            #expect(answer?["error"]?["code"] == "forbidden")
        }
    }

    /// Concurrent pulls of one result all answered 200; a cancelled job's pull answered `200 null`.
    @Test func aResultIsPulledOnceAndACancelledPullSaysSo() async throws {
        try await withCluster { cluster in
            try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            let id = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": 1, "b": 2])
            try await waitUntil("the job completes") { try await cluster.client.viewResult(id: id).status == .completed }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<12 { group.addTask { try await cluster.request(.GET, "/job/pull/result?request_id=\(id)").0 } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1)
            #expect(statuses.filter { $0 == 410 }.count == 11)

            _ = try await cluster.client.setPaused(.queue, name: "test", paused: true)
            let held = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": 1, "b": 2])
            _ = try await cluster.client.cancel(id: held)
            let (status, body) = try await cluster.request(.GET, "/job/pull/result?request_id=\(held)")
            #expect(status == 409)
            #expect(body?["error"]?["code"] == "job_cancelled")
        }
    }

    /// A log line dated `…00.1e300Z` was stored and crashed the manager when the log was viewed.
    @Test func aLogLineWithAnImpossibleDateIsRefused() async throws {
        try await withCluster { cluster in
            let client = cluster.client
            let plugin = PluginInfo(name: "fake", version: "1", sha256: "0", abi: "1.1", tasks: [TaskSpec(name: "work")])
            let registered = try await client.register(
                HostRegistration(hostID: "logger", name: "logger", queue: "q", maxTasks: 1, plugins: [plugin], refused: []))
            let id = try await client.enqueue(queue: "q", task: "work")
            for at in ["2026-12-01T10:00:00.1e300Z", "99999-01-01T00:00:00Z", "2026-12-01T10:00:00.+5Z"] {
                let body = #"{"host_id":"logger","lines":{"\#(id)":[{"stream":"stdout","line":"x","at":"\#(at)"}]}}"#
                let (status, _) = try await cluster.request(
                    .POST, "/hosts/logs", body: body, headers: ["X-EasyJobs-Secret": "test-secret", "X-EasyJobs-Session": registered.session])
                #expect(status == 400, "\(at)")
            }
            #expect(try await cluster.request(.GET, "/job/view/log?request_id=\(id)").0 == 200)
            #expect(try await cluster.request(.GET, "/health").0 == 200)
        }
    }

    /// A schedule removed from a task kept firing.
    @Test func aScheduleRemovedFromItsTaskStopsFiring() async throws {
        try await withCluster { cluster in
            let client = cluster.client
            let scheduled = TaskSpec(name: "tick", options: TaskOptions(schedule: "@every 1s"))
            func register(_ task: TaskSpec) async throws {
                _ = try await client.register(
                    HostRegistration(
                        hostID: "clock", name: "clock", queue: "q", maxTasks: 1,
                        plugins: [PluginInfo(name: "clock", version: "1", sha256: "0", abi: "1.1", tasks: [task])], refused: []))
            }
            try await register(scheduled)
            #expect(try await client.schedules().map(\.task) == ["tick"])
            try await register(TaskSpec(name: "tick"))
            #expect(try await client.schedules().isEmpty)
        }
    }
}

private func XCTUnwrapID(_ body: JSONValue?) throws -> String {
    guard let id = body?["request_id"]?.stringValue else { throw TestFailure("no request_id in \(String(describing: body))") }
    return id
}

/// Nothing was ever deleted: finished jobs past `--retain` go, unfinished ones stay.
@Suite(.serialized) struct RetentionEndToEndTests {
    @Test func finishedJobsPastTheRetentionPeriodArePruned() async throws {
        try await withCluster(managerArguments: ["--retain", "1s"]) { cluster in
            try await cluster.startHost(name: "tasks", queue: "test", plugins: ["TestTasks"])
            // Completed, then gone within a second or two (it may be gone before a poll sees it completed).
            let done = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": 1, "b": 2])
            try await waitUntil("the finished job is pruned") {
                try await cluster.request(.GET, "/job/view/result?request_id=\(done)").0 == 404
            }
            #expect(cluster.manager.stderr.contains("pruned finished jobs"))
            // Unfinished work is never pruned: a job held by a paused queue outlives several prune rounds.
            _ = try await cluster.client.setPaused(.queue, name: "test", paused: true)
            let queued = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": 1, "b": 2])
            let other = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": 1, "b": 2])
            _ = try await cluster.client.cancel(id: other)
            try await waitUntil("a cancelled job is pruned meanwhile") {
                try await cluster.request(.GET, "/job/view/result?request_id=\(other)").0 == 404
            }
            try await Task.sleep(for: .seconds(2))
            #expect(try await cluster.client.viewResult(id: queued).status == .queued)
        }
    }

    /// A time the manager cannot hold (`Duration.seconds(_:)` traps on `nan`, `inf` and numbers
    /// past its range, which the argument parser reads as numbers) is refused, naming the flag.
    @Test(arguments: [
        ["--retain", "soon", "--retain must be a duration such as 7d"],
        ["--retain", "1e300d", "--retain must be a duration such as 7d"],
        ["--lease", "nan", "--lease must be a number of seconds"],
        ["--peer-sync", "inf", "--peer-sync must be a number of seconds"],
        ["--gauge-interval", "nan", "--gauge-interval must be a number of seconds"],
        ["--shutdown-grace", "nan", "--shutdown-grace must be a number of seconds"],
        ["--crash-report-grace", "inf", "--crash-report-grace must be a number of seconds"],
    ])
    func aBadTimeIsRefusedClearly(_ case: [String]) async throws {
        let command = `case`[0].hasSuffix("-grace") ? ["host", "--manager", "http://127.0.0.1:1"] : ["manager", "--port", "0"]
        let process = try ChildProcess(label: "easyjobs", arguments: command + [`case`[0], `case`[1]])
        let status = try await process.waitForExit()
        #expect(process.stderr.contains(`case`[2]))
        #expect(status != 0)
    }
}

/// Plugin copies lived in a shared temp directory and an existing copy was reused without being
/// hashed again: whoever could write /tmp chose the code a host ran.
@Suite(.serialized) struct PluginCacheTests {
    @Test func aPlantedCopyIsReplacedAndTheCacheIsPrivate() async throws {
        try await withCluster { cluster in
            let data = cluster.directory.url.appendingPathComponent("host-planted")
            let cache = data.appendingPathComponent("plugin-cache")
            // Plant another library under the name the genuine copy will have, in a cache open to all.
            let genuine = BuildProducts.plugin("TestTasks")
            let sha = try DynamicLibraryLoader.sha256(ofFile: genuine)
            try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
            chmod(cache.path, 0o777)
            let planted = cache.appendingPathComponent("libTestTasks-\(sha.prefix(16)).so")
            try FileManager.default.copyItem(at: BuildProducts.plugin("Crashers"), to: planted)

            try await cluster.startHost(name: "planted", queue: "test", plugins: ["TestTasks"])
            let plugin = try #require(try await cluster.client.hosts().first { $0.name == "planted" }?.plugins.first)
            #expect(plugin.name == "test-tasks")
            #expect(plugin.sha256 == sha)
            #expect(try DynamicLibraryLoader.sha256(ofFile: planted) == sha)
            var status = stat()
            #expect(stat(cache.path, &status) == 0)
            #expect(status.st_mode & 0o777 == 0o700)
            let id = try await cluster.client.enqueue(queue: "test", task: "add", arguments: ["a": 1, "b": 2])
            #expect(try await cluster.client.pullResult(id: id, wait: 20) == .completed(3))
        }
    }

    @Test func aChildRefusesACopyThatIsNotTheOneItsHostLoaded() async throws {
        try await withCluster { cluster in
            let copy = cluster.directory.url.appendingPathComponent("libCrashers-copy.so")
            try FileManager.default.copyItem(at: BuildProducts.plugin("Crashers"), to: copy)
            let request =
                #"{"manager":"\#(cluster.url)","token":"x.1.y","jobID":"x","task":"pid","plugin":"\#(copy.path)","sha256":"\#(String(repeating: "0", count: 64))","leaseSeconds":30,"args":{},"context":{},"parentPID":\#(getpid())}"#
            let process = Process()
            process.executableURL = BuildProducts.easyjobs
            process.arguments = ["run-task"]
            let input = Pipe()
            let errors = Pipe()
            process.standardInput = input
            process.standardError = errors
            try process.run()
            input.fileHandleForWriting.write(Data(request.utf8))
            try input.fileHandleForWriting.close()
            process.waitUntilExit()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 3)
            #expect(stderr.contains("is not the one the host loaded"))
        }
    }
}
