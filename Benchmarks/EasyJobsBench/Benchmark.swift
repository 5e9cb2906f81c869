import ArgumentParser
import AsyncHTTPClient
import EasyJobsClient
import EasyJobsCore
import Foundation
import NIOCore
import NIOPosix

/// `easyjobs-bench`: end-to-end figures of a real manager and host on this machine.
///
/// ```sh
/// swift build -c release
/// .build/release/easyjobs-bench --jobs 20000 --clients 32
/// ```
@main
struct Benchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "easyjobs-bench",
        abstract: "Measures no-op throughput, idle enqueue-to-start latency and idle RSS, end to end over HTTP.")

    @Option(help: "No-op jobs in the throughput run.") var jobs = 20_000
    @Option(help: "Concurrent HTTP clients enqueuing.") var clients = 32
    @Option(name: .customLong("max-tasks"), help: "The host's --max-tasks.") var maxTasks = 64
    @Option(help: "Sequential jobs in the latency run.") var samples = 200
    @Option(help: "Repetitions of the throughput run (the median is reported).") var runs = 3
    @Option(name: .customLong("subprocess-samples"), help: "Sequential no-op subprocess jobs in the latency run.") var subprocessSamples = 50
    @Option(help: "Plugin replacements in the reload run.") var reloads = 100
    @Option(name: .customLong("subprocess-pool"), help: "The host's --subprocess-pool: idle children per plugin version (0: one started per job).")
    var subprocessPool = 2
    @Option(help: "Where the managers keep jobs: 'sqlite' (a temporary file) or the postgres:// URL of an empty database.")
    var store = "sqlite"
    @Option(help: "Managers sharing the store (more than 1 needs PostgreSQL): the host knows them all, enqueues alternate between them, and the latency run enqueues on the manager the host does not poll.")
    var managers = 1
    @Option(name: .customLong("claim-cost"), help: "Measure only the store's claim cost at these backlog sizes (e.g. 1000,100000,1000000), on --store.")
    var claimCost: String?
    @Option(name: .customLong("claim-samples"), help: "Claims timed per backlog size.") var claimSamples = 200
    @Option(name: .customLong("call-overhead"), help: "Measure only the in-host cost of this many no-op calls per batch, Swift plugin against C through libffi.")
    var callOverhead: Int?

    func run() async throws {
        if let callOverhead {
            let build = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            try await CallOverhead.run(build: build, calls: callOverhead, batches: 7)
            return
        }
        if let claimCost {
            let sizes = claimCost.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            if store == "sqlite" {
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-claim-\(UUID().uuidString.prefix(8)).sqlite").path
                defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
                try await ClaimCost.sqlite(path: path, sizes: sizes, samples: claimSamples)
            } else {
                try await ClaimCost.postgres(url: store, sizes: sizes, samples: claimSamples)
            }
            return
        }
        guard managers == 1 || store != "sqlite" else { throw ValidationError("--managers \(managers) needs --store postgres://…") }
        let build = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-bench-\(UUID().uuidString.prefix(8))")
        let plugins = work.appendingPathComponent("plugins")
        try FileManager.default.createDirectory(at: plugins, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: build.appendingPathComponent("libTestTasks.so"), to: plugins.appendingPathComponent("libTestTasks.so"))
        let versioned = try Data(contentsOf: build.appendingPathComponent("libVersioned.so"))
        try VersionedPlugin.install(versioned, version: 1, in: plugins)
        defer { try? FileManager.default.removeItem(at: work) }

        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: clients + 4)))

        var managerProcesses: [Child] = []
        defer { for manager in managerProcesses { manager.stop() } }
        var urls: [String] = []
        for index in 0..<managers {
            let manager = try Child(
                build.appendingPathComponent("easyjobs"),
                ["manager", "--port", "0", "--data-dir", work.appendingPathComponent("data-\(index)").path, "--log-level", "warning"]
                    + (store == "sqlite" ? [] : ["--store", store]))
            managerProcesses.append(manager)
            urls.append(try await manager.waitForLine(prefix: "EasyJobs manager listening on ").replacingOccurrences(of: "EasyJobs manager listening on ", with: ""))
        }
        let manager = managerProcesses[0]
        let url = urls[0]
        let host = try Child(build.appendingPathComponent("easyjobs"), ["host", "--manager", urls.joined(separator: ","), "--plugins", plugins.path, "--queue", "bench", "--max-tasks", "\(maxTasks)", "--name", "bench-host", "--log-level", "warning",
            // Measure what reloads cost in memory, not what recycling gives back.
            "--recycle-after-reloads", "0", "--recycle-above-rss-mb", "0", "--subprocess-pool", "\(subprocessPool)"])
        defer { host.stop() }
        let enqueuers = urls.map { ManagerClient(baseURL: $0, httpClient: http) }
        let client = ManagerClient(baseURL: url, httpClient: http)
        for enqueuer in enqueuers {
            try await until { try await enqueuer.hosts().contains { $0.name == "bench-host" && $0.online } }
        }

        print("easyjobs-bench: \(managers) manager(s) \(urls.joined(separator: ", ")) on \(store == "sqlite" ? "SQLite" : "PostgreSQL"), host --max-tasks \(maxTasks) --subprocess-pool \(subprocessPool), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        // The latency run enqueues on the last manager: with several, not the one the host polls.
        let latencyClient = enqueuers[enqueuers.count - 1]
        // Warm up connections, caches and the SQLite file.
        _ = try await throughput(clients: enqueuers, jobs: 500, concurrency: clients, url: url, http: http)

        // Idle figures first, on a quiet system.
        try await Task.sleep(for: .seconds(1))
        print(String(format: "idle RSS: manager %.1f MiB, host %.1f MiB", manager.rssMiB, host.rssMiB))
        let inHost = try await latencies(client: latencyClient, task: "noop", samples: samples)
        print(String(format: "idle enqueue-to-start latency over %d jobs: p50 %.2f ms, p95 %.2f ms (manager timestamps)", inHost.waits.count, inHost.waits.percentile(50), inHost.waits.percentile(95)))
        print(String(format: "idle enqueue-to-finished as seen by a polling client: p50 %.2f ms, p95 %.2f ms", inHost.roundTrips.percentile(50), inHost.roundTrips.percentile(95)))
        let child = try await latencies(client: latencyClient, task: "noop_subprocess", samples: subprocessSamples)
        print(String(format: "subprocess no-op, enqueue to stored result over %d jobs: p50 %.2f ms, p95 %.2f ms (manager timestamps: created → finished)", child.finished.count, child.finished.percentile(50), child.finished.percentile(95)))

        var rates: [Double] = []
        for run in 1...runs {
            let (enqueueRate, endToEnd) = try await throughput(clients: enqueuers, jobs: jobs, concurrency: clients, url: url, http: http)
            rates.append(endToEnd)
            print(String(format: "run %d: %d no-op jobs, %d clients: enqueue %.0f jobs/s, end to end %.0f jobs/s", run, jobs, clients, enqueueRate, endToEnd))
        }
        print(String(format: "throughput median of %d runs: %.0f jobs/s end to end (enqueue over HTTP → host → result stored)", runs, rates.percentile(50)))
        print(String(format: "RSS after the runs: manager %.1f MiB, host %.1f MiB", manager.rssMiB, host.rssMiB))
        guard reloads > 0 else {
            try await http.shutdown()
            return
        }

        // Reloads: from the new file landing (an atomic rename) to the first job served by it.
        let before = host.rssMiB
        var reloadTimes: [Double] = []
        for version in 2..<(reloads + 2) {
            let landed = ContinuousClock.now
            try VersionedPlugin.install(versioned, version: version, in: plugins)
            while true {
                let id = try await client.enqueue(queue: "bench", task: "version")
                var view = try await client.viewResult(id: id)
                while !view.status.isFinished {
                    try await Task.sleep(for: .milliseconds(1))
                    view = try await client.viewResult(id: id)
                }
                if view.result == .int(version) { break }
                guard ContinuousClock.now - landed < .seconds(30) else { throw ValidationError("version \(version) never served") }
            }
            reloadTimes.append((ContinuousClock.now - landed).milliseconds)
        }
        print(String(format: "reload, file landing to first job served by the new version, over %d reloads: p50 %.1f ms, p95 %.1f ms", reloadTimes.count, reloadTimes.percentile(50), reloadTimes.percentile(95)))
        print(String(format: "host RSS before the reloads %.1f MiB, after %d reloads %.1f MiB (%.1f KiB per reload)", before, reloads, host.rssMiB, (host.rssMiB - before) * 1024 / Double(max(reloads, 1))))
        try await http.shutdown()
    }

    /// Runs `samples` jobs of `task` one at a time on an idle system.
    func latencies(client: ManagerClient, task: String, samples: Int) async throws -> (waits: [Double], roundTrips: [Double], finished: [Double]) {
        var waits: [Double] = []
        var roundTrips: [Double] = []
        var finished: [Double] = []
        for _ in 0..<samples {
            let sent = ContinuousClock.now
            let id = try await client.enqueue(queue: "bench", task: task)
            var view = try await client.viewResult(id: id)
            while !view.status.isFinished {
                try await Task.sleep(for: .milliseconds(2))
                view = try await client.viewResult(id: id)
            }
            guard view.status == .completed else { throw ValidationError("\(task) job \(id) ended \(view.status.rawValue): \(view.error ?? "")") }
            roundTrips.append((ContinuousClock.now - sent).milliseconds)
            if let started = view.startedAt { waits.append(started.timeIntervalSince(view.createdAt) * 1000) }
            if let end = view.finishedAt { finished.append(end.timeIntervalSince(view.createdAt) * 1000) }
            try await Task.sleep(for: .milliseconds(10))
        }
        return (waits, roundTrips, finished)
    }

    /// Enqueues `jobs` no-ops from `clients` concurrent clients and waits until all are stored as completed.
    /// Enqueuers take turns over `clients` (the managers).
    func throughput(clients managers: [ManagerClient], jobs: Int, concurrency clients: Int, url: String, http: HTTPClient) async throws -> (Double, Double) {
        let before = try await completedCount(url: url, http: http)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<clients {
                let share = jobs / clients + (worker < jobs % clients ? 1 : 0)
                let client = managers[worker % managers.count]
                group.addTask {
                    for _ in 0..<share { _ = try await client.enqueue(queue: "bench", task: "noop") }
                }
            }
            try await group.waitForAll()
        }
        let enqueued = ContinuousClock.now - start
        let deadline = ContinuousClock.now + .seconds(300)
        while try await completedCount(url: url, http: http) < before + jobs {
            guard ContinuousClock.now < deadline else { throw ValidationError("jobs did not complete within 300 s") }
            // Counting is a scan of the queue's rows: poll gently so the count costs the system little.
            try await Task.sleep(for: .milliseconds(25))
        }
        let total = ContinuousClock.now - start
        return (Double(jobs) / enqueued.seconds, Double(jobs) / total.seconds)
    }

    func completedCount(url: String, http: HTTPClient) async throws -> Int {
        let response = try await http.execute(HTTPClientRequest(url: url + "/stats?queue=bench"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        let stats = try JSONValue.decode(Data(body.readableBytesView))
        guard case .int(let completed) = stats["completed"] ?? .null else { throw ValidationError("unexpected /stats: \(stats)") }
        return completed
    }

    func until(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<600 {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ValidationError("timed out waiting for the host to register")
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Double { seconds * 1000 }
}

extension Array where Element == Double {
    func percentile(_ p: Double) -> Double {
        guard !isEmpty else { return .nan }
        let sorted = self.sorted()
        let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
        return sorted[Swift.min(Swift.max(rank, 0), sorted.count - 1)]
    }
}
