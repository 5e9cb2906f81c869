import AsyncHTTPClient
import EasyJobsClient
import EasyJobsCore
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#endif

/// A manager on a free loopback port with a real SQLite file (or a real PostgreSQL database), and the hosts a test starts.
final class TestCluster: @unchecked Sendable {
    let directory: TemporaryDirectory
    let dataDirectory: URL
    let secret: String?
    let apiToken: String?
    let managerArguments: [String]
    /// The PostgreSQL database of this cluster, when the run uses PostgreSQL.
    let database: String?
    /// What another manager of this cluster's store is started with, beside `--data-dir`.
    var storeArguments: [String] { database.map { ["--store", $0] } ?? [] }
    private(set) var manager: ChildProcess!
    private(set) var url = ""
    private(set) var hosts: [ChildProcess] = []

    /// The manager's port: 0 picks a free one at each start; a fixed one survives restarts.
    let port: Int

    /// Schedules fire only in the tests about them: the ETL plugin's extract runs every minute.
    init(secret: String? = "test-secret", apiToken: String? = nil, managerArguments: [String] = [], port: Int = 0, schedules: Bool = false)
        async throws
    {
        self.port = port
        directory = try TemporaryDirectory()
        dataDirectory = try directory.subdirectory("data")
        self.secret = secret
        self.apiToken = apiToken
        if ClusterStore.isPostgres {
            let database = try ClusterStore.createDatabase()
            self.database = database
            self.managerArguments = managerArguments + (schedules ? [] : ["--no-schedules"]) + ["--store", database]
        } else {
            database = nil
            self.managerArguments = managerArguments + (schedules ? [] : ["--no-schedules"])
        }
        try await startManager()
    }

    /// Starts (or restarts) the manager on the same data directory.
    func startManager(fileSizeLimitKiB: Int? = nil) async throws {
        var arguments = ["manager", "--port", "\(port)", "--data-dir", dataDirectory.path] + managerArguments
        if let secret { arguments += ["--secret", secret] }
        if let apiToken { arguments += ["--api-token", apiToken] }
        manager = try ChildProcess(label: "manager", arguments: arguments, fileSizeLimitKiB: fileSizeLimitKiB)
        url = try await manager.waitForOutput(#"listening on (http://\S+)"#)
    }

    /// Starts a host serving `queue` with a plugin directory of its own holding `plugins`,
    /// and waits until the manager lists it.
    @discardableResult
    func startHost(
        name: String, queue: String, plugins: [String], maxTasks: Int = 5, environment: [String: String] = [:], pluginDirectory: URL? = nil
    ) async throws -> ChildProcess {
        let directory = try pluginDirectory ?? self.directory.pluginDirectory("plugins-\(name)", plugins: plugins)
        var arguments = [
            "host", "--manager", url, "--plugins", directory.path, "--name", name, "--max-tasks", "\(maxTasks)",
            "--data-dir", self.directory.url.appendingPathComponent("host-\(name)").path,
        ]
        // "a:3,b" serves both queues, as `--queue a:3 --queue b`.
        arguments += queue.split(separator: ",").flatMap { ["--queue", String($0)] }
        if let secret { arguments += ["--secret", secret] }
        let host = try ChildProcess(label: "host \(name)", arguments: arguments, environment: environment)
        hosts.append(host)
        try await waitUntil("host \(name) registers") {
            try await self.client.hosts().contains { $0.name == name && $0.online }
        }
        return host
    }

    var client: ManagerClient {
        ManagerClient(baseURL: url, secret: secret, apiToken: apiToken)
    }

    /// Sends a raw request and returns status and body, for tests of bad input.
    func request(
        _ method: HTTPMethod, _ path: String, body: String? = nil, headers: [String: String] = [:], timeout: TimeAmount = .seconds(30)
    ) async throws -> (Int, JSONValue?) {
        let (status, json, _) = try await exchange(method, path, body: body, headers: headers, timeout: timeout)
        return (status, json)
    }

    /// ``request(_:_:body:headers:timeout:)`` with the answer's headers.
    func exchange(
        _ method: HTTPMethod, _ path: String, body: String? = nil, headers: [String: String] = [:], timeout: TimeAmount = .seconds(30)
    ) async throws -> (Int, JSONValue?, HTTPHeaders) {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), try? JSONValue.decode(Data(bytes.readableBytesView)), response.headers)
    }

    /// A GET whose body is text (HTML, Prometheus).
    func text(_ path: String) async throws -> (Int, String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url + path), timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// Jobs of any status: a bad request must leave this unchanged.
    func jobCount() async throws -> Int {
        try await client.list(limit: 1000).count
    }

    func shutdown() async {
        for host in hosts { await host.stop() }
        await manager.stop()
        if let database { ClusterStore.dropDatabase(database) }
        directory.remove()
    }
}

/// Polls `condition` until it holds, failing after `timeout`.
func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    var lastError: (any Error)?
    while ContinuousClock.now < deadline {
        do {
            if try await condition() { return }
        } catch {
            lastError = error
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TestFailure("timed out waiting until \(what)" + (lastError.map { " (last error: \($0))" } ?? ""))
}

extension ManagerClient {
    /// The job's outcome once it has one, long-polling again while it is pending (a manager
    /// holds one poll for at most a minute), or the pending state after `within`. For jobs that
    /// can take minutes on a loaded machine: a crashed Swift child writes its symbolicated
    /// backtrace before it exits, seen taking over 30 s under a full run's load.
    func pullResult(id: String, within: Duration) async throws -> PullResult {
        let deadline = ContinuousClock.now + within
        while true {
            let remaining = (deadline - .now).inSeconds
            let result = try await pullResult(id: id, wait: max(remaining, 0))
            guard case .pending = result, remaining > 0 else { return result }
        }
    }
}

/// Runs `body` with a fresh cluster and stops every process it started, whatever happens.
func withCluster<T>(
    secret: String? = "test-secret", apiToken: String? = nil, managerArguments: [String] = [], port: Int = 0, schedules: Bool = false,
    _ body: (TestCluster) async throws -> T
) async throws -> T {
    let cluster = try await TestCluster(secret: secret, apiToken: apiToken, managerArguments: managerArguments, port: port, schedules: schedules)
    do {
        let result = try await body(cluster)
        await cluster.shutdown()
        return result
    } catch {
        await cluster.shutdown()
        throw error
    }
}

/// A loopback port that was free a moment ago, for a manager that must keep its port across a restart.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw TestFailure("cannot bind a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
