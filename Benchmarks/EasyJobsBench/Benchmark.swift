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
/// scripts/bench.sh --jobs 20000 --runs 3     # builds the release configuration, then runs this
/// ```
@main
struct Benchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "easyjobs-bench",
        abstract: "Measures no-op throughput (single, batched, wrk), chains, subprocess and idle latency, and RSS, end to end over HTTP.")

    @Option(help: "No-op jobs in the throughput run.") var jobs = 20_000
    @Option(help: "Concurrent HTTP clients enqueuing.") var clients = 32
    @Option(
        name: .customLong("max-tasks"),
        help: "The host's --max-tasks: no-op jobs, so a host with room for many takes them in large claims (up to 1,024 each).")
    var maxTasks = 1_024
    @Option(help: "Sequential jobs in the latency run.") var samples = 200
    @Option(help: "Repetitions of the throughput run (the median is reported).") var runs = 3
    @Option(name: .customLong("subprocess-samples"), help: "Sequential no-op subprocess jobs in the latency run.") var subprocessSamples = 50
    @Option(help: "Plugin replacements in the reload run.") var reloads = 100
    @Option(name: .customLong("subprocess-pool"), help: "The host's --subprocess-pool: idle children per plugin version (0: one started per job).")
    var subprocessPool = 2
    @Option(help: "Where the managers keep jobs: 'sqlite' (a temporary file) or the postgres:// URL of an empty database.")
    var store = "sqlite"
    @Option(
        help:
            "Managers sharing the store (more than 1 needs PostgreSQL): the host knows them all, enqueues alternate between them, and the latency run enqueues on the manager the host does not poll."
    )
    var managers = 1
    @Option(
        name: .customLong("claim-cost"), help: "Measure only the store's claim cost at these backlog sizes (e.g. 1000,100000,1000000), on --store.")
    var claimCost: String?
    @Option(name: .customLong("claim-samples"), help: "Claims timed per backlog size.") var claimSamples = 200
    @Option(
        name: .customLong("store-cycle"),
        help: "Only enqueue, claim and end this many jobs on a SQLite store, no HTTP: for instruction counts under callgrind.")
    var storeCycle: Int?
    @Option(help: "Jobs per request in the batch-enqueue run (POST /bench/tasks).") var batch = 1_000
    @Option(name: .customLong("batch-jobs"), help: "No-op jobs in each batch-enqueue run; 0 skips it.") var batchJobs = 100_000
    @Option(name: .customLong("batch-clients"), help: "Concurrent clients sending batches.") var batchClients = 4
    @Option(help: "Concurrent 3-step chains in the chain throughput run; 0 skips chains.") var chains = 3_000
    @Option(name: .customLong("chain-samples"), help: "Sequential 3-step chains in the chain latency run; 0 skips it.") var chainSamples = 200
    @Option(name: .customLong("wrk-seconds"), help: "Seconds of single enqueues driven by wrk (when installed); 0 skips it.") var wrkSeconds = 10
    @Option(name: .customLong("wrk-connections"), help: "wrk's keep-alive connections.") var wrkConnections = 32
    @Option(help: "Jobs enqueued in batches after the other runs, printing RSS every tenth: memory over a long run; 0 skips it.")
    var soak = 0
    @Option(help: "Write the headline figures to this JSON file (for scripts/compare.sh).") var summary: String?
    @Option(
        name: .customLong("call-overhead"),
        help: "Measure only the in-host cost of this many no-op calls per batch, Swift plugin against C through libffi.")
    var callOverhead: Int?

    @Option(
        name: .customLong("http-overhead"),
        help: "Measure only what the HTTP stack costs: this many sequential /health round trips per round, AsyncHTTPClient against NIO's bare codec.")
    var httpOverhead: Int?

    @Option(
        name: .customLong("plugin-dev"),
        help: "Measure only the plugin author's loop: this many one-line edits of a new plugin under `easyjobs plugin dev`.")
    var pluginDev: Int?
    @Flag(name: .customLong("plugin-dev-release"), help: "With --plugin-dev: release builds (plugin dev --release).") var pluginDevRelease = false

    func run() async throws {
        // The products beside this executable: the manager, the host and the plugins it starts.
        let build = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        if let pluginDev {
            try await PluginDevLoop.run(build: build, edits: pluginDev, release: pluginDevRelease)
            return
        }
        if let httpOverhead {
            try Self.checkBuild(build, needs: ["easyjobs"])
            try await HTTPOverhead.run(build: build, requests: httpOverhead, rounds: 3)
            return
        }
        if let callOverhead {
            try await CallOverhead.run(build: build, calls: callOverhead, batches: 7)
            return
        }
        if let storeCycle {
            try await StoreCycle.run(jobs: storeCycle)
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
        try Self.checkBuild(build, needs: ["easyjobs", "easyjobs-host", "libTestTasks.so", "libVersioned.so"])
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
            urls.append(
                try await manager.waitForLine(prefix: "EasyJobs manager listening on ").replacingOccurrences(
                    of: "EasyJobs manager listening on ", with: ""))
        }
        let manager = managerProcesses[0]
        let url = urls[0]
        let host = try Child(
            build.appendingPathComponent("easyjobs"),
            [
                "host", "--manager", urls.joined(separator: ","), "--plugins", plugins.path, "--queue", "bench", "--max-tasks", "\(maxTasks)",
                "--name", "bench-host", "--log-level", "warning",
                // Measure what reloads cost in memory, not what recycling gives back.
                "--recycle-after-reloads", "0", "--recycle-above-rss-mb", "0", "--subprocess-pool", "\(subprocessPool)",
            ])
        defer { host.stop() }
        let enqueuers = urls.map { ManagerClient(baseURL: $0, httpClient: http) }
        let client = ManagerClient(baseURL: url, httpClient: http)
        for enqueuer in enqueuers {
            try await until { try await enqueuer.hosts().contains { $0.name == "bench-host" && $0.online } }
        }
        let workloads = Workloads(enqueuers: enqueuers, client: client, url: url, urls: urls, http: http)
        var figures = Summary()

        print(
            "easyjobs-bench: \(managers) manager(s) \(urls.joined(separator: ", ")) on \(store == "sqlite" ? "SQLite" : "PostgreSQL"), host --max-tasks \(maxTasks) --subprocess-pool \(subprocessPool), \(ProcessInfo.processInfo.activeProcessorCount) cores"
        )
        // The latency run enqueues on the last manager: with several, not the one the host polls.
        let latencyClient = enqueuers[enqueuers.count - 1]
        // Warm up connections, caches and the SQLite file.
        _ = try await workloads.single(jobs: 500, concurrency: clients)

        // Idle figures first, on a quiet system.
        try await Task.sleep(for: .seconds(1))
        figures.idleRSS = (manager.rssMiB, host.rssMiB)
        print(String(format: "idle RSS: manager %.1f MiB, host %.1f MiB", manager.rssMiB, host.rssMiB))
        let inHost = try await latencies(client: latencyClient, task: "noop", samples: samples)
        print(
            String(
                format: "idle enqueue-to-start latency over %d jobs: p50 %.2f ms, p95 %.2f ms (manager timestamps)", inHost.waits.count,
                inHost.waits.percentile(50), inHost.waits.percentile(95)))
        print(
            String(
                format: "idle enqueue-to-finished as seen by a polling client: p50 %.2f ms, p95 %.2f ms", inHost.roundTrips.percentile(50),
                inHost.roundTrips.percentile(95)))
        if subprocessSamples > 0 {
            let child = try await latencies(client: latencyClient, task: "noop_subprocess", samples: subprocessSamples)
            figures.subprocessP50 = child.finished.percentile(50)
            print(
                String(
                    format:
                        "subprocess no-op, enqueue to stored result over %d jobs: p50 %.2f ms, p95 %.2f ms (manager timestamps: created → finished)",
                    child.finished.count, child.finished.percentile(50), child.finished.percentile(95)))
        }
        if chains > 0 && chainSamples > 0 {
            let timelines = try await workloads.chainLatency(samples: chainSamples)
            let chainTimes = timelines.map(\.total)
            figures.chainP50 = chainTimes.percentile(50)
            print(
                String(
                    format:
                        "3-step run_after chain, one at a time over %d chains, first step accepted → last result stored: p50 %.2f ms, p95 %.2f ms",
                    chainTimes.count, chainTimes.percentile(50), chainTimes.percentile(95)))
            // Where a step's time goes: waiting to be claimed (from its predecessor's end, or its
            // acceptance) and running until its result is stored (claim answer, run, report).
            for step in 0..<3 {
                let waits = timelines.map { $0.started[step] - (step == 0 ? 0 : $0.finished[step - 1]) }
                let runs = timelines.map { $0.finished[step] - $0.started[step] }
                print(
                    String(
                        format: "  step %d: queued → claimed p50 %.2f ms, claimed → result stored p50 %.2f ms", step + 1, waits.percentile(50),
                        runs.percentile(50)))
            }
        }

        var singleRates: [Double] = []
        var batchRates: [Double] = []
        var chainRates: [Double] = []
        var wrkRates: [Double] = []
        var reruns = 0
        // CPU per job of each process over a run: what a change in work per job shows more
        // steadily than a rate on this shared machine (wrk's own CPU is not counted).
        let cpu = { (managerProcesses.map(\.cpuSeconds).reduce(0, +), host.cpuSeconds, CPUTime.seconds(ofProcess: "self")) }
        func printCPU(since before: (Double, Double, Double), jobs: Int) {
            let after = cpu()
            let perJob = { (seconds: Double) in seconds / Double(max(jobs, 1)) * 1e6 }
            print(
                String(
                    format: "  CPU per job: manager %.1f µs, host %.1f µs, benchmark %.1f µs", perJob(after.0 - before.0), perJob(after.1 - before.1),
                    perJob(after.2 - before.2)))
        }
        for run in 1...runs {
            var before = cpu()
            let single = try await workloads.single(jobs: jobs, concurrency: clients)
            singleRates.append(single.endToEnd)
            reruns += single.reruns
            print(
                String(
                    format:
                        "run %d: %d no-op jobs, one request each from %d clients: enqueue %.0f jobs/s, end to end %.0f jobs/s; jobs run more than once: %d",
                    run, jobs, clients, single.enqueue, single.endToEnd, single.reruns))
            printCPU(since: before, jobs: jobs)
            if batchJobs > 0 {
                before = cpu()
                let batched = try await workloads.batched(jobs: batchJobs, batch: batch, concurrency: batchClients)
                batchRates.append(batched.endToEnd)
                reruns += batched.reruns
                print(
                    String(
                        format:
                            "run %d: %d no-op jobs, %d per request from %d clients: enqueue %.0f jobs/s, end to end %.0f jobs/s; jobs run more than once: %d",
                        run, batchJobs, batch, batchClients, batched.enqueue, batched.endToEnd, batched.reruns))
                printCPU(since: before, jobs: batchJobs)
            }
            if chains > 0 {
                before = cpu()
                let rate = try await workloads.chainThroughput(chains: chains)
                chainRates.append(rate)
                print(String(format: "run %d: %d concurrent 3-step chains: %.0f chains/s (%.0f jobs/s)", run, chains, rate, rate * 3))
                printCPU(since: before, jobs: 3 * chains)
            }
            before = cpu()
            if wrkSeconds > 0, let driven = try await workloads.wrk(seconds: wrkSeconds, connections: wrkConnections) {
                wrkRates.append(driven.endToEnd)
                print(
                    String(
                        format:
                            "run %d: %d no-op jobs, one request each from wrk (%d connections, %d s): enqueue %.0f jobs/s, end to end %.0f jobs/s",
                        run, driven.requests, wrkConnections, wrkSeconds, driven.enqueue, driven.endToEnd))
                printCPU(since: before, jobs: driven.requests)
            }
        }
        figures.single = singleRates.percentile(50)
        print(String(format: "median of %d runs, end to end (enqueue over HTTP → host → result stored):", runs))
        print(String(format: "  one request per job (AsyncHTTPClient, %d clients): %.0f jobs/s", clients, singleRates.percentile(50)))
        if !wrkRates.isEmpty {
            figures.wrk = wrkRates.percentile(50)
            print(String(format: "  one request per job (wrk, %d connections): %.0f jobs/s", wrkConnections, wrkRates.percentile(50)))
        }
        if !batchRates.isEmpty {
            figures.batch = batchRates.percentile(50)
            print(String(format: "  %d jobs per request: %.0f jobs/s", batch, batchRates.percentile(50)))
        }
        if !chainRates.isEmpty {
            figures.chains = chainRates.percentile(50)
            print(String(format: "  3-step chains: %.0f chains/s", chainRates.percentile(50)))
        }
        print("jobs run more than once over all throughput runs: \(reruns)\(reruns == 0 ? "" : " (no fault was injected: each is a bug)")")
        figures.reruns = reruns
        print(String(format: "RSS after the runs: manager %.1f MiB, host %.1f MiB", manager.rssMiB, host.rssMiB))

        if soak > 0 {
            let step = max(soak / 10, batch)
            var done = 0
            print(
                String(format: "soak: %d jobs in batches of %d; RSS at 0: manager %.1f MiB, host %.1f MiB", soak, batch, manager.rssMiB, host.rssMiB))
            while done < soak {
                let count = min(step, soak - done)
                let rate = try await workloads.batched(jobs: count, batch: batch, concurrency: batchClients)
                done += count
                print(
                    String(
                        format: "soak: %d jobs done (%.0f jobs/s, %d run more than once): RSS manager %.1f MiB, host %.1f MiB", done, rate.endToEnd,
                        rate.reruns, manager.rssMiB, host.rssMiB))
            }
        }
        if let summary { try figures.write(to: summary, jobs: jobs, chains: chains) }
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
        print(
            String(
                format: "reload, file landing to first job served by the new version, over %d reloads: p50 %.1f ms, p95 %.1f ms", reloadTimes.count,
                reloadTimes.percentile(50), reloadTimes.percentile(95)))
        print(
            String(
                format: "host RSS before the reloads %.1f MiB, after %d reloads %.1f MiB (%.1f KiB per reload)", before, reloads, host.rssMiB,
                (host.rssMiB - before) * 1024 / Double(max(reloads, 1))))
        try await http.shutdown()
    }

    /// Names what a benchmark run needs beside this executable and how to build it, rather
    /// than failing later on a missing file.
    static func checkBuild(_ build: URL, needs files: [String]) throws {
        let missing = files.filter { !FileManager.default.fileExists(atPath: build.appendingPathComponent($0).path) }
        guard !missing.isEmpty else { return }
        throw ValidationError(
            "\(missing.joined(separator: ", ")) not found beside easyjobs-bench in \(build.path): build every product of the release "
                + "configuration with scripts/bench.sh (or `swift build -c release`; one --product flag builds only that product)")
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
