import AsyncHTTPClient
import EasyJobsClient
import EasyJobsCore
import Foundation
import NIOCore

/// What a throughput run measured.
struct Rates {
    /// Jobs per second accepted by the managers.
    var enqueue: Double
    /// Jobs per second from the first enqueue to the last result stored.
    var endToEnd: Double
    /// Starts beyond one per job: jobs that ran more than once (0 without faults).
    var reruns: Int
}

/// The workloads the benchmark times against a running manager and host.
struct Workloads {
    let enqueuers: [ManagerClient]
    let client: ManagerClient
    /// The first manager's URL (the one the host polls).
    let url: String
    /// Every manager's URL.
    let urls: [String]
    let http: HTTPClient
    let queue = "bench"

    /// Jobs enqueued one HTTP request each by `concurrency` keep-alive clients; the clock stops when
    /// the manager counts all of them completed (run by the host, result stored).
    func single(jobs: Int, concurrency: Int) async throws -> Rates {
        let before = try await completedCount()
        let startedBefore = try await startedCount()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                let share = jobs / concurrency + (worker < jobs % concurrency ? 1 : 0)
                let client = enqueuers[worker % enqueuers.count]
                group.addTask {
                    for _ in 0..<share { _ = try await client.enqueue(queue: queue, task: "noop") }
                }
            }
            try await group.waitForAll()
        }
        let enqueued = ContinuousClock.now - start
        try await waitForCompleted(before + jobs)
        let total = ContinuousClock.now - start
        return Rates(
            enqueue: Double(jobs) / enqueued.seconds, endToEnd: Double(jobs) / total.seconds, reruns: try await startedCount() - startedBefore - jobs)
    }

    /// Jobs enqueued `batch` to a request (`POST /bench/tasks`) by `concurrency` clients.
    func batched(jobs: Int, batch: Int, concurrency: Int) async throws -> Rates {
        let before = try await completedCount()
        let startedBefore = try await startedCount()
        let requests = (jobs + batch - 1) / batch
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                let client = enqueuers[worker % enqueuers.count]
                group.addTask {
                    var request = worker
                    while request < requests {
                        let count = min(batch, jobs - request * batch)
                        let ids = try await client.enqueueBatch(queue: queue, jobs: Array(repeating: BatchEnqueueItem(task: "noop"), count: count))
                        guard ids.count == count else { throw BenchmarkError("a batch of \(count) answered \(ids.count) ids") }
                        request += concurrency
                    }
                }
            }
            try await group.waitForAll()
        }
        let enqueued = ContinuousClock.now - start
        try await waitForCompleted(before + jobs)
        let total = ContinuousClock.now - start
        return Rates(
            enqueue: Double(jobs) / enqueued.seconds, endToEnd: Double(jobs) / total.seconds, reruns: try await startedCount() - startedBefore - jobs)
    }

    /// One sequential chain's timeline by the manager's timestamps, in ms from the first step's
    /// acceptance: when each step started and finished.
    struct ChainTimeline {
        var started: [Double]
        var finished: [Double]
        var total: Double { finished.last ?? 0 }
    }

    /// 3-step run_after chains (`chain_first` → `chain_second` → `chain_third`), one at a time:
    /// from the manager accepting the first step to it storing the last step's result, by the
    /// manager's own timestamps. The benchmark stays off the manager while a chain runs (it
    /// looks at the chain's graph 15 ms after enqueuing it, then every 2 ms until it is done):
    /// polling the graph every millisecond loaded the manager it measured.
    func chainLatency(samples: Int) async throws -> [ChainTimeline] {
        var timelines: [ChainTimeline] = []
        for _ in 0..<samples {
            let id = try await client.enqueue(queue: queue, task: "chain_first")
            let deadline = ContinuousClock.now + .seconds(30)
            try await Task.sleep(for: .milliseconds(15))
            while true {
                let jobs = try await client.graph(id: id).jobs
                if let last = jobs.first(where: { $0.task == "chain_third" }), last.status.isFinished,
                    let first = jobs.first(where: { $0.requestID == id })
                {
                    guard last.status == .completed else { throw BenchmarkError("chain \(id) ended \(last.status.rawValue)") }
                    let steps = ["chain_first", "chain_second", "chain_third"].compactMap { task in jobs.first { $0.task == task } }
                    let since = { (date: Date?) in (date ?? first.createdAt).timeIntervalSince(first.createdAt) * 1000 }
                    timelines.append(ChainTimeline(started: steps.map { since($0.startedAt) }, finished: steps.map { since($0.finishedAt) }))
                    break
                }
                guard ContinuousClock.now < deadline else { throw BenchmarkError("chain \(id) did not finish within 30 s") }
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        return timelines
    }

    /// `chains` chains started together (in batches of 500); the clock stops when all their
    /// 3 × `chains` jobs are completed.
    func chainThroughput(chains: Int) async throws -> Double {
        let before = try await completedCount()
        let start = ContinuousClock.now
        var sent = 0
        while sent < chains {
            let count = min(500, chains - sent)
            _ = try await client.enqueueBatch(queue: queue, jobs: Array(repeating: BatchEnqueueItem(task: "chain_first"), count: count))
            sent += count
        }
        try await waitForCompleted(before + 3 * chains)
        return Double(chains) / (ContinuousClock.now - start).seconds
    }

    /// Single enqueues from `wrk` (C, keep-alive, `connections` connections over 2 threads) for
    /// `seconds`: the same work for the manager with a client that costs the two cores little.
    /// `nil` when wrk is not installed.
    func wrk(seconds: Int, connections: Int) async throws -> (requests: Int, enqueue: Double, endToEnd: Double)? {
        guard let wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first(where: FileManager.default.isExecutableFile(atPath:)) else { return nil }
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-bench-\(UUID().uuidString.prefix(6)).lua")
        try #"wrk.method = "POST"; wrk.body = "{}"; wrk.headers["Content-Type"] = "application/json""#.write(
            to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        let before = try await completedCount()
        let start = ContinuousClock.now
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrk)
        process.arguments = ["-t", "2", "-c", "\(connections)", "-d", "\(seconds)s", "-s", script.path, url + "/\(queue)/task/noop"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let enqueued = ContinuousClock.now - start
        guard let line = output.split(separator: "\n").first(where: { $0.contains("requests in") }),
            let requests = Int(line.trimmingCharacters(in: .whitespaces).split(separator: " ")[0])
        else { throw BenchmarkError("cannot read wrk's output:\n\(output)") }
        if let failed = output.split(separator: "\n").first(where: { $0.contains("Non-2xx") }) {
            throw BenchmarkError("wrk saw refused enqueues: \(failed)")
        }
        try await waitForCompleted(before + requests)
        return (requests, Double(requests) / enqueued.seconds, Double(requests) / (ContinuousClock.now - start).seconds)
    }

    func waitForCompleted(_ target: Int, timeout: Duration = .seconds(600)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let asked = ContinuousClock.now
            if try await completedCount() >= target { return }
            guard ContinuousClock.now < deadline else { throw BenchmarkError("jobs did not complete within \(timeout)") }
            try await Task.sleep(for: max(.milliseconds(10), (ContinuousClock.now - asked) * 4))
        }
    }

    /// Jobs of the queue completed so far, from the managers' counters: constant cost, where
    /// counting rows would grow with the table. Several managers' counters add up (each counts
    /// the reports it stored).
    func completedCount() async throws -> Int {
        var total = 0
        for manager in urls {
            total += Int(try await metric("easyjobs_jobs_succeeded_total", manager: manager))
        }
        return total
    }

    /// Jobs of the queue started so far (a job run twice counts twice), summed over the managers.
    func startedCount() async throws -> Int {
        var total = 0
        for manager in urls {
            total += Int(try await metric("easyjobs_jobs_started_total", manager: manager))
        }
        return total
    }

    /// The sum of a counter's series for this queue, all tasks, in one manager's /metrics.
    func metric(_ name: String, manager: String) async throws -> Double {
        let response = try await http.execute(HTTPClientRequest(url: manager + "/metrics"), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        let label = "queue=\"\(queue)\""
        var sum = 0.0
        for line in String(buffer: body).split(separator: "\n") where line.hasPrefix(name + "{") && line.contains(label) {
            sum += Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return sum
    }
}
