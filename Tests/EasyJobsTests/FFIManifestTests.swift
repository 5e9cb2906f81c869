@testable import EasyJobsHost
import EasyJobsCore
import Foundation
import Testing

/// The checks of a foreign plugin's manifest, before any symbol is looked up.
@Suite struct FFIManifestTests {
    let check = DescriptorCheck(file: "libx.so")

    func specs(_ tasks: String, abi: String = "1.0") throws(EasyJobsError) -> [TaskSpec] {
        let manifest = try FFIManifest.parse(#"{"abi": "\#(abi)", "name": "x", "version": "1", "tasks": [\#(tasks)]}"#, check: check)
        return try manifest.taskSpecs(check: check)
    }

    func refusal(_ tasks: String) -> String? {
        do throws(EasyJobsError) {
            _ = try specs(tasks)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func cTypesBecomeCheckedParameters() throws {
        let tasks = try specs(
            #"{"name": "f", "returns": "int8", "parameters": [{"name": "a", "type": "int8"}, {"name": "b", "type": "uint16"}, {"name": "s", "type": "const char*"}, {"name": "v", "type": "float[]"}, {"name": "d", "type": "double", "default": 1.5}]}"#
        )
        let parameters = try #require(tasks.first).parameters
        #expect(parameters.map(\.type) == [.int, .int, .string, .array, .double])
        #expect(parameters[0].minimum == -128 && parameters[0].maximum == 127)
        #expect(parameters[1].minimum == 0 && parameters[1].maximum == 65535)
        #expect(parameters[3].cType == "float[]")
        #expect(parameters[4].required == false && parameters[4].default == 1.5)
        #expect(tasks[0].options.subprocess, "foreign code runs in a child by default")
        #expect(throws: EasyJobsError.self) { try tasks[0].bind(["a": 128, "b": 1, "s": "x", "v": []]) }
        #expect(try tasks[0].bind(["a": -128, "b": 65535, "s": "x", "v": [1.5]])["d"] == 1.5)
    }

    @Test func badDeclarationsAreRefusedWithTheReason() {
        #expect(
            refusal(#"{"name": "f", "returns": "int64", "parameters": [{"name": "a", "type": "int128"}]}"#)
                == "libx.so: task 'f': parameter 'a' has unknown C type 'int128' (expected int8…int64, uint8…uint64, float, double, bool, string or a buffer such as double[])"
        )
        #expect(
            refusal(#"{"name": "f", "returns": "long double"}"#)
                == "libx.so: task 'f': unknown return type 'long double' (expected void, a scalar type, string or json)")
        #expect(refusal(#"{"name": "f", "returns": "void", "options": {"schedule": "61 * * * *"}}"#)?.contains("invalid schedule") == true)
        #expect(refusal(#"{"name": "f", "returns": "void"}, {"name": "f", "returns": "void"}"#) == "libx.so: task 'f' is declared twice")
        let missing = refusal(#"{"name": "f"}"#) ?? ""
        #expect(missing.hasPrefix("libx.so: its FFI manifest does not have the expected shape: missing") && missing.contains("returns"), "\(missing)")
        #expect(refusal(#"{"name": "f", "returns": "void",,}"#)?.hasPrefix("libx.so: its FFI manifest is not valid JSON") == true)
    }
}
