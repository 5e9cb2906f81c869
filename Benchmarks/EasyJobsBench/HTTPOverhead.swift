import AsyncHTTPClient
import EasyJobsClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// What the HTTP stack alone costs a round trip: sequential `GET /health` to a manager of its
/// own, through the host's client (AsyncHTTPClient, as ``ManagerClient`` sends it) and through a
/// bare channel with NIO's HTTP/1.1 codec, with the CPU time and context switches each side
/// spends per request. `/health` does no work, so what a round trip costs here is what every
/// claim and report pays before the manager does anything.
///
/// ```
/// easyjobs-bench --http-overhead 3000     # 3 rounds of 3,000 requests each way
/// ```
enum HTTPOverhead {
    static func run(build: URL, requests: Int, rounds: Int) async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("easyjobs-bench-http-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: work) }
        let manager = try Child(
            build.appendingPathComponent("easyjobs"), ["manager", "--port", "0", "--data-dir", work.path, "--log-level", "warning"])
        defer { manager.stop() }
        let url = try await manager.waitForLine(prefix: "EasyJobs manager listening on ").replacingOccurrences(
            of: "EasyJobs manager listening on ", with: "")
        let client = ManagerClient(baseURL: url)
        let bare = try await BareConnection.open(url: url)
        defer { bare.close() }
        _ = try await client.health()
        let managerPID = "\(manager.process.processIdentifier)"
        for round in 1...rounds {
            for (label, roundTrip) in [
                ("AsyncHTTPClient", { _ = try await client.health() }),
                ("NIO HTTP/1.1 codec, bare channel", { try await bare.get("/health") }),
            ] as [(String, () async throws -> Void)] {
                let clientBefore = Usage.ofThisProcess()
                let managerBefore = Usage.ofProcess(managerPID)
                var times: [Double] = []
                times.reserveCapacity(requests)
                for _ in 0..<requests {
                    let start = ContinuousClock.now
                    try await roundTrip()
                    times.append((ContinuousClock.now - start).seconds * 1e6)
                }
                let clientCost = Usage.ofThisProcess().since(clientBefore, requests: requests)
                let managerCost = Usage.ofProcess(managerPID).since(managerBefore, requests: requests)
                print(
                    String(
                        format:
                            "round %d, %@: round trip p50 %.0f µs, p90 %.0f µs; per request: client %.0f µs CPU, %.1f context switches; manager %.0f µs CPU, %.1f context switches",
                        round, label, times.percentile(50), times.percentile(90), clientCost.cpu, clientCost.switches, managerCost.cpu,
                        managerCost.switches))
            }
        }
    }

    /// CPU time and context switches of a process, summed over its threads.
    struct Usage {
        var cpuSeconds: Double
        var switches: Double

        static func ofThisProcess() -> Usage { ofProcess("\(getpid())") }

        static func ofProcess(_ pid: String) -> Usage {
            let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            var switches = 0.0
            for thread in threads {
                guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8) else { continue }
                for line in status.split(separator: "\n") where line.contains("ctxt_switches:") {
                    switches += Double(line.split(separator: "\t").last.map(String.init) ?? "") ?? 0
                }
            }
            return Usage(cpuSeconds: CPUTime.seconds(ofProcess: pid), switches: switches)
        }

        /// Per request: CPU in µs and context switches.
        func since(_ earlier: Usage, requests: Int) -> (cpu: Double, switches: Double) {
            ((cpuSeconds - earlier.cpuSeconds) * 1e6 / Double(requests), (switches - earlier.switches) / Double(requests))
        }
    }

    /// One keep-alive connection through NIO's HTTP/1.1 codec, one request at a time: the least a
    /// Swift client on NIO does for a round trip, awaited from a task as the host awaits its own.
    final class BareConnection: Sendable {
        let channel: any Channel
        let responses: ResponseHandler
        let host: String

        private init(channel: any Channel, responses: ResponseHandler, host: String) {
            self.channel = channel
            self.responses = responses
            self.host = host
        }

        static func open(url: String) async throws -> BareConnection {
            guard let components = URLComponents(string: url), let host = components.host, let port = components.port else {
                throw BenchmarkError("not a http://host:port URL: \(url)")
            }
            let responses = ResponseHandler()
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(responses)
                    }
                }
                .connect(host: host, port: port).get()
            return BareConnection(channel: channel, responses: responses, host: host)
        }

        func get(_ path: String) async throws {
            let promise = channel.eventLoop.makePromise(of: HTTPResponseStatus.self)
            channel.eventLoop.execute { [channel, responses, host] in
                responses.waiting = promise
                var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
                head.headers.add(name: "Host", value: host)
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            }
            let status = try await promise.futureResult.get()
            guard status == .ok else { throw BenchmarkError("GET \(path) answered \(status.code)") }
        }

        func close() {
            channel.close(promise: nil)
        }
    }

    /// Completes the waiting request's promise at the end of its response.
    final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        // Only touched on the channel's event loop.
        var waiting: EventLoopPromise<HTTPResponseStatus>?
        private var status: HTTPResponseStatus = .ok

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = head.status
            case .body: break
            case .end:
                waiting?.succeed(status)
                waiting = nil
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            waiting?.fail(error)
            waiting = nil
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            // A manager that closes the connection ends the measurement rather than hanging it.
            waiting?.fail(BenchmarkError("the manager closed the connection"))
            waiting = nil
            context.fireChannelInactive()
        }
    }
}
