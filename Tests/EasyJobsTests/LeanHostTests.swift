import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `easyjobs host` runs as `easyjobs-host` (issue 14: host memory): the host alone, without the
/// manager's libraries or Foundation proper, and so are its subprocess children and probes.
@Suite struct LeanHostTests {
    func mapsFoundation(_ pid: Int32) -> Bool {
        let maps = (try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)) ?? ""
        return maps.contains("/libFoundation.so")
    }

    func executable(of pid: Int32) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
    }

    @Test func aHostAndItsChildrenRunWithoutTheManagersLibraries() async throws {
        // What the lean executable links: FoundationEssentials, never Foundation proper.
        let linked = try run("/usr/bin/readelf", ["-d", BuildProducts.directory.appendingPathComponent("easyjobs-host").path])
        #expect(linked.contains("libFoundationEssentials.so"))
        #expect(!linked.contains("[libFoundation.so]"))
        #expect(!linked.contains("libsqlite3"))

        try await withCluster { cluster in
            // Started as `easyjobs host`, as users and the other tests do.
            let host = try await cluster.startHost(name: "lean", queue: "c", plugins: ["Crashers"])
            #expect(executable(of: host.pid).hasSuffix("/easyjobs-host"))
            #expect(!mapsFoundation(host.pid))
            try await waitUntil("the pool has its idle children") { idleChildren(of: host.pid).count == 2 }
            for child in idleChildren(of: host.pid) {
                #expect(executable(of: child).hasSuffix("/easyjobs-host"))
                #expect(!mapsFoundation(child))
            }
            // And it is a host: a job runs in one of those children.
            let id = try await cluster.client.enqueue(queue: "c", task: "pid")
            guard case .completed(.int(let pid)) = try await cluster.client.pullResult(id: id, wait: 30) else {
                Issue.record("the job did not complete with a pid")
                return
            }
            #expect(pid != Int(host.pid))
        }
    }

    /// A manager process is still the full `easyjobs`: only the host's commands move.
    @Test func theManagerStaysTheFullExecutable() async throws {
        try await withCluster { cluster in
            #expect(executable(of: cluster.manager.pid).hasSuffix("/easyjobs"))
        }
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
