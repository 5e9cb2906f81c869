import CEasyJobsABI
import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// The checks a plugin descriptor must pass, in the order the host makes them: nothing of the
/// plugin is called before the frozen header is known to be compatible.
struct DescriptorCheck {
    /// The frozen first fields of every descriptor, whatever its major.
    struct Header: Equatable {
        var magic: UInt32
        var structSize: UInt32
        var abiMajor: UInt16
        var abiMinor: UInt16
    }

    let file: String

    func refusal(_ message: String, _ context: [String: String] = [:]) -> EasyJobsError {
        EasyJobsError(.pluginRefused, "\(file): \(message)", context: context.merging(["file": file]) { a, _ in a })
    }

    /// Checks the header read through the entry of major `entryMajor`.
    func check(_ header: Header, entryMajor: UInt16) throws(EasyJobsError) {
        guard header.magic == EASYJOBS_DESCRIPTOR_MAGIC else {
            throw refusal(
                "descriptor magic 0x\(String(header.magic, radix: 16)), expected 0x\(String(EASYJOBS_DESCRIPTOR_MAGIC, radix: 16)): not an EasyJobs descriptor",
                ["field": "magic"])
        }
        guard header.abiMajor == HostBuildInfo.abiMajor, entryMajor == HostBuildInfo.abiMajor else {
            throw refusal(
                "plugin ABI \(header.abiMajor).\(header.abiMinor), host supports \(HostBuildInfo.abiMajor).x",
                ["field": "abi_major", "plugin": "\(header.abiMajor)", "host": "\(HostBuildInfo.abiMajor)"])
        }
        guard header.abiMinor <= HostBuildInfo.abiMinor else {
            throw refusal(
                "plugin ABI \(header.abiMajor).\(header.abiMinor), host supports \(HostBuildInfo.abiMajor).0 to \(HostBuildInfo.abiMajor).\(HostBuildInfo.abiMinor)",
                ["field": "abi_minor", "plugin": "\(header.abiMinor)", "host": "\(HostBuildInfo.abiMinor)"])
        }
        let required = MemoryLayout<easyjobs_plugin_descriptor>.size
        guard Int(header.structSize) >= required else {
            throw refusal(
                "descriptor size \(header.structSize) bytes, host expects at least \(required) for ABI \(header.abiMajor).\(header.abiMinor)",
                ["field": "struct_size", "plugin": "\(header.structSize)", "host": "\(required)"])
        }
    }

    /// Checks the build fields of a 1.x descriptor whose header passed.
    func checkBuild(swiftVersion: String, target: String) throws(EasyJobsError) {
        guard swiftVersion == HostBuildInfo.swiftVersion else {
            throw refusal(
                "plugin built by Swift \(swiftVersion), host runs Swift \(HostBuildInfo.swiftVersion); rebuild the plugin with the host's compiler",
                ["field": "swift_version", "plugin": swiftVersion, "host": HostBuildInfo.swiftVersion])
        }
        guard target == HostBuildInfo.target else {
            throw refusal(
                "plugin target \(target), host target \(HostBuildInfo.target)",
                ["field": "target", "plugin": target, "host": HostBuildInfo.target])
        }
    }

    /// Decodes and checks the task list.
    func tasks(fromJSON bytes: Data) throws(EasyJobsError) -> [TaskSpec] {
        let elements: [JSONValue]
        do {
            guard case .array(let array) = try JSONValue.decode(bytes) else {
                throw refusal("tasks_json is not a JSON array", ["field": "tasks_json"])
            }
            elements = array
        } catch let error as EasyJobsError {
            throw error
        } catch {
            throw refusal("tasks_json is not valid JSON: \(error)", ["field": "tasks_json"])
        }
        var specs: [TaskSpec] = []
        var seen: Set<String> = []
        for (index, element) in elements.enumerated() {
            let name = element["name"]?.stringValue ?? "#\(index)"
            if let problem = element["error"]?.stringValue {
                throw refusal("task '\(name)': \(problem)", ["field": "tasks_json", "task": name])
            }
            let spec: TaskSpec
            do {
                spec = try JSONDecoder().decode(TaskSpec.self, from: element.encoded())
            } catch {
                throw refusal("task '\(name)' has an invalid description: \(error)", ["field": "tasks_json", "task": name])
            }
            guard Self.isValidName(spec.name) else {
                throw refusal(
                    "task name '\(spec.name)' is invalid: use letters, digits, '_', '-' and '.'",
                    ["field": "tasks_json", "task": spec.name])
            }
            guard seen.insert(spec.name).inserted else {
                throw refusal("task '\(spec.name)' is declared twice", ["field": "tasks_json", "task": spec.name])
            }
            if let zone = spec.options.timeZone, TimeZone(identifier: zone) == nil {
                throw refusal("task '\(spec.name)': unknown time zone '\(zone)'", ["field": "time_zone", "task": spec.name])
            }
            if let schedule = spec.options.schedule {
                do {
                    _ = try CronSchedule(parsing: schedule, timeZone: spec.options.timeZone.flatMap(TimeZone.init(identifier:)) ?? .gmt)
                } catch {
                    throw refusal("task '\(spec.name)': \(error.message)", ["field": "schedule", "task": spec.name])
                }
            }
            if let defaults = spec.options.defaultArgs {
                do {
                    _ = try spec.bind(.object(defaults))
                } catch {
                    throw refusal(
                        "task '\(spec.name)': default_args do not fit its signature: \(error.message)", ["field": "default_args", "task": spec.name])
                }
            }
            specs.append(spec)
        }
        if let cycle = PipelineValidation.cycles(in: specs).first {
            throw refusal(
                "cycle through run_before/run_after: \((cycle + [cycle[0]]).joined(separator: " → "))",
                ["field": "tasks_json", "task": cycle[0]])
        }
        return specs
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128
            && name.unicodeScalars.allSatisfy {
                $0.properties.isASCIIHexDigit || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || "_-.".unicodeScalars.contains($0)
            }
    }
}
