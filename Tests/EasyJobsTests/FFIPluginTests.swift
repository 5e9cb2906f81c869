import EasyJobsClient
import EasyJobsCore
import Foundation
import Testing

/// A plugin written in C (Plugins/FFI/CMath: plain C functions and a manifest, no Swift),
/// loaded by a real host and called through libffi (issue 12).
@Suite struct FFIPluginTests {
    @Test func aCPluginsFunctionsRunInProcessAndInAChild() async throws {
        try await withCluster { cluster in
            try await cluster.startHost(name: "c", queue: "cmath", plugins: ["CMathPlugin"])
            let client = cluster.client
            // In a child (the default for foreign code), with a default argument.
            #expect(
                try await client.pullResult(id: try await client.enqueue(queue: "cmath", task: "add", arguments: ["a": 40, "b": 2]), wait: 20)
                    == .completed(42))
            #expect(
                try await client.pullResult(id: try await client.enqueue(queue: "cmath", task: "add", arguments: ["a": 41]), wait: 20)
                    == .completed(42))
            // const char* in, uint32 out (FNV-1a of "hello").
            #expect(
                try await client.pullResult(id: try await client.enqueue(queue: "cmath", task: "checksum", arguments: ["text": "hello"]), wait: 20)
                    == .completed(.int(1_335_831_723)))
            #expect(
                try await client.pullResult(id: try await client.enqueue(queue: "cmath", task: "is_even", arguments: ["value": 10]), wait: 20)
                    == .completed(true))
            // A pointer + length buffer changed in place, in the host's own process.
            // (A double stays a double, whole or not, in a child or in the host.)
            #expect(
                try await client.pullResult(
                    id: try await client.enqueue(queue: "cmath", task: "scale", arguments: ["values": [1, 2.25, -3], "factor": 2]), wait: 20)
                    == .completed([2.0, 4.5, -6.0]))
            #expect(
                try await client.pullResult(id: try await client.enqueue(queue: "cmath", task: "negate8", arguments: ["value": -128]), wait: 20)
                    == .completed(-128))
            // A returned char* of JSON, freed by the plugin's own free function.
            #expect(
                try await client.pullResult(
                    id: try await client.enqueue(queue: "cmath", task: "describe", arguments: ["name": "x", "count": 21]), wait: 20)
                    == .completed(["name": "x", "count": 21, "twice": 42]))
        }
    }

    @Test func theManagerChecksCTypesAtEnqueue() async throws {
        try await withCluster { cluster in
            try await cluster.startHost(name: "c", queue: "cmath", plugins: ["CMathPlugin"])
            let tasks = try #require(try await cluster.client.tasks().first { $0.queue == "cmath" })
            let negate = try #require(tasks.tasks.first { $0.name == "negate8" })
            #expect(negate.parameters.first?.cType == "int8")
            #expect(negate.parameters.first?.minimum == -128 && negate.parameters.first?.maximum == 127)
            #expect(tasks.tasks.first { $0.name == "add" }?.options.subprocess == true)
            #expect(negate.options.subprocess == false)

            for (value, bound) in [(300, "at most 127"), (-129, "at least -128")] {
                let (status, answer) = try await cluster.request(.POST, "/cmath/task/negate8", body: #"{"value": \#(value)}"#)
                #expect(status == 422)
                #expect(answer?["error"]?["code"] == "invalid_arguments")
                let message = answer?["error"]?["message"]?.stringValue ?? ""
                #expect(message.contains(bound) && message.contains("int8"), "\(message)")
            }
            let (status, answer) = try await cluster.request(.POST, "/cmath/task/scale", body: #"{"values": "1,2", "factor": 2}"#)
            #expect(status == 422)
            #expect(answer?["error"]?["message"]?.stringValue?.contains("argument 'values' must be array") == true)
        }
    }

    @Test func aCrashInForeignCodeFailsTheJobAndTheHostLives() async throws {
        try await withCluster { cluster in
            let host = try await cluster.startHost(
                name: "c", queue: "cmath", plugins: ["CMathPlugin"], environment: ["EASYJOBS_CRASH_REPORT_GRACE": "200"])
            let id = try await cluster.client.enqueue(queue: "cmath", task: "crash")
            // (A crashed child writes its backtrace first, which takes a while on a loaded machine.)
            guard case .failed(let error) = try await cluster.client.pullResult(id: id, within: .seconds(240)) else {
                Issue.record("the crash should fail the job")
                return
            }
            #expect(error.message.contains("the child was killed by SIGABRT (signal 6)"), "\(error.message)")
            #expect(host.isRunning)
            #expect(
                try await cluster.client.pullResult(id: try await cluster.client.enqueue(queue: "cmath", task: "add", arguments: ["a": 1]), wait: 20)
                    == .completed(2))
        }
    }

    /// A system library that knows nothing of EasyJobs, served with only a manifest file.
    @Test func aSystemLibraryIsServedWithOnlyAManifestFile() async throws {
        try await withCluster { cluster in
            let directory = try cluster.directory.subdirectory("plugins-libm")
            let manifest = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                "../../Plugins/FFI/libm/libm.easyjobs.json")
            try FileManager.default.copyItem(at: manifest, to: directory.appendingPathComponent("libm.easyjobs.json"))
            try await cluster.startHost(name: "m", queue: "math", plugins: [], pluginDirectory: directory)
            let client = cluster.client
            #expect(
                try await client.pullResult(id: try await client.enqueue(queue: "math", task: "pow", arguments: ["x": 2, "y": 10]), wait: 20)
                    == .completed(1024.0))
            #expect(
                try await client.pullResult(id: try await client.enqueue(queue: "math", task: "hypot", arguments: ["x": 3, "y": 4]), wait: 20)
                    == .completed(5.0))
            // The default argument (27) applies; cbrt's result is within a rounding of 3.
            let cube = try await client.pullResult(id: try await client.enqueue(queue: "math", task: "cbrt"), wait: 20)
            switch cube {
            case .completed(.double(let root)): #expect(abs(root - 3) < 1e-12)
            case .completed(.int(let root)): #expect(root == 3)
            default: Issue.record("cbrt: \(cube)")
            }
            let host = try #require(try await client.hosts().first { $0.name == "m" })
            #expect(host.plugins.map(\.name) == ["libm"])
            #expect(host.refused.isEmpty)
        }
    }

    /// A manifest file changed in place is reloaded like a Swift plugin: new tasks serve at once.
    @Test func aChangedManifestFileIsReloaded() async throws {
        try await withCluster { cluster in
            let directory = try cluster.directory.subdirectory("plugins-reload")
            func install(_ tasks: String, version: String) throws {
                let text = #"{"abi": "1.0", "name": "libm", "version": "\#(version)", "library": "libm.so.6", "tasks": [\#(tasks)]}"#
                let temporary = directory.appendingPathComponent(".libm.tmp")
                try Data(text.utf8).write(to: temporary)
                try FileManager.default.moveItem(at: temporary, to: directory.appendingPathComponent("libm.easyjobs.json"))
            }
            let pow = #"{"name": "pow", "returns": "double", "parameters": [{"name": "x", "type": "double"}, {"name": "y", "type": "double"}]}"#
            let fabs = #"{"name": "fabs", "returns": "double", "parameters": [{"name": "x", "type": "double"}], "options": {"subprocess": false}}"#
            try install(pow, version: "1")
            try await cluster.startHost(name: "m", queue: "math", plugins: [], pluginDirectory: directory)
            try FileManager.default.removeItem(at: directory.appendingPathComponent("libm.easyjobs.json"))
            try install(pow + ", " + fabs, version: "2")
            try await waitUntil("version 2 is served") {
                try await cluster.client.hosts().first { $0.name == "m" }?.plugins.first?.version == "2"
            }
            #expect(
                try await cluster.client.pullResult(
                    id: try await cluster.client.enqueue(queue: "math", task: "fabs", arguments: ["x": -2.5]), wait: 20) == .completed(2.5))
        }
    }

    /// The ABI version applies to foreign plugins too (they skip only the Swift compiler check).
    @Test func aForeignPluginOfAnotherABIIsRefused() async throws {
        try await withCluster { cluster in
            let directory = try cluster.directory.subdirectory("plugins-abi")
            let text =
                #"{"abi": "2.0", "name": "future", "version": "1", "library": "libm.so.6", "tasks": [{"name": "cbrt", "returns": "double", "parameters": [{"name": "x", "type": "double"}]}]}"#
            try Data(text.utf8).write(to: directory.appendingPathComponent("future.easyjobs.json"))
            try await cluster.startHost(name: "m", queue: "math", plugins: [], pluginDirectory: directory)
            let host = try #require(try await cluster.client.hosts().first { $0.name == "m" })
            #expect(host.refused.map(\.reason) == ["future.easyjobs.json: plugin ABI 2.0, host supports 1.x"])
            #expect(host.plugins.isEmpty)
        }
    }

    @Test func inspectShowsTheCSignatures() async throws {
        let inspect = try ChildProcess(label: "inspect", arguments: ["plugin", "inspect", BuildProducts.plugin("CMathPlugin").path])
        try await inspect.waitForExit()
        #expect(inspect.process.terminationStatus == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("cmath 1.0.0  ABI 1.0  foreign (C functions through libffi)"))
        #expect(inspect.stdout.contains("C: add(int64 a, int64 b) -> int64"))
        #expect(inspect.stdout.contains("C: scale(double* values, size_t values_count, double factor) -> void (result: values)"))
        #expect(inspect.stdout.contains("negate8(value: int8)"))
    }

    @Test func aManifestNamingAMissingFunctionIsRefusedWithTheReason() async throws {
        try await withCluster { cluster in
            try await cluster.startHost(
                name: "c", queue: "cmath", plugins: ["CMathPlugin", "TestTasks"], environment: ["CMATH_PLUGIN_MANIFEST": "broken"])
            let host = try #require(try await cluster.client.hosts().first { $0.name == "c" })
            let refusal = try #require(host.refused.first)
            #expect(refusal.reason == "libCMathPlugin.so: task 'subtract': no exported C function 'subtract'")
            #expect(host.plugins.map(\.name) == ["test-tasks"] || host.plugins.count == 1)
        }
    }
}
