import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Turns an opened library that exports `easyjobs_ffi_manifest_v1` into a plugin: reads and
/// checks its manifest, finds every declared symbol and prepares every call, refusing the whole
/// plugin with a reason when anything is missing or wrong. Foreign plugins are exempt from the
/// Swift compiler check (they have no Swift runtime to match); the ABI version still applies.
enum FFILoader {
    static func load(
        handle: UnsafeMutableRawPointer, manifest symbol: UnsafeMutableRawPointer, file: URL, copy: URL, sha256: String, check: DescriptorCheck
    ) throws(EasyJobsError) -> LoadedPlugin {
        let describe = unsafeBitCast(symbol, to: (@convention(c) () -> UnsafePointer<CChar>?).self)
        guard let text = describe() else {
            throw check.refusal("\(FFIManifest.symbol)() returned NULL", ["field": "manifest"])
        }
        return try load(
            handle: handle, manifest: try FFIManifest.parse(String(cString: text), check: check), file: file, copy: copy, sha256: sha256, check: check
        )
    }

    /// A manifest file (`*.easyjobs.json`) for a library that knows nothing of EasyJobs (a
    /// system library such as zlib): its `library` is opened by name from the system's library
    /// path, or by absolute path. The hash covers the manifest; the library is the system's.
    static func load(manifestFile copy: URL, file: URL, sha256: String, check: DescriptorCheck) throws(EasyJobsError) -> LoadedPlugin {
        let text: String
        do {
            text = try String(contentsOf: copy, encoding: .utf8)
        } catch {
            throw check.refusal("cannot read the manifest: \(error.readableDescription)", ["field": "manifest"])
        }
        let manifest = try FFIManifest.parse(text, check: check)
        guard let library = manifest.library, !library.isEmpty else {
            throw check.refusal(
                "a manifest file must name its \"library\" (a system library such as libz.so.1, or an absolute path)", ["field": "library"])
        }
        guard !library.contains("/") || library.hasPrefix("/") else {
            throw check.refusal("library '\(library)' must be a library name or an absolute path", ["field": "library"])
        }
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw check.refusal("cannot open library '\(library)': \(reason)", ["field": "library"])
        }
        return try load(handle: handle, manifest: manifest, file: file, copy: copy, sha256: sha256, check: check)
    }

    private static func load(
        handle: UnsafeMutableRawPointer, manifest: FFIManifest, file: URL, copy: URL, sha256: String, check: DescriptorCheck
    ) throws(EasyJobsError) -> LoadedPlugin {
        let major = manifest.abi.split(separator: ".").first.flatMap { UInt16($0) }
        guard major == HostBuildInfo.abiMajor else {
            throw check.refusal(
                "plugin ABI \(manifest.abi), host supports \(HostBuildInfo.abiMajor).x",
                ["field": "abi", "expected": "\(HostBuildInfo.abiMajor).x"])
        }
        let specs = try manifest.taskSpecs(check: check)
        var functions: [String: FFIFunction] = [:]
        for task in manifest.tasks {
            let name = task.symbol ?? task.name
            guard let address = dlsym(handle, name) else {
                throw check.refusal("task '\(task.name)': no exported C function '\(name)'", ["field": "symbol", "task": task.name])
            }
            var free: UnsafeMutableRawPointer?
            if let freeName = task.free {
                guard let found = dlsym(handle, freeName) else {
                    throw check.refusal("task '\(task.name)': no exported free function '\(freeName)'", ["field": "free", "task": task.name])
                }
                free = found
            }
            // taskSpecs checked every type.
            let parameters = (task.parameters ?? []).map { ($0.name, FFIParameterType(declared: $0.type)!) }
            let returns = FFIReturnType(declared: task.returns)!
            if let result = task.result {
                guard returns == .void, parameters.contains(where: { $0.0 == result && { if case .buffer = $0.1 { true } else { false } }($0) })
                else {
                    throw check.refusal(
                        "task '\(task.name)': result '\(result)' must name a buffer parameter of a void function",
                        ["field": "result", "task": task.name])
                }
            }
            do {
                functions[task.name] = try FFIFunction(
                    task: task.name, symbol: address, parameters: parameters.map { (name: $0.0, type: $0.1) }, returns: returns, free: free,
                    resultBuffer: task.result)
            } catch {
                throw check.refusal("task '\(task.name)': \(error.message)", ["field": "symbol", "task": task.name])
            }
        }
        let info = PluginInfo(name: manifest.name, version: manifest.version, sha256: sha256, abi: manifest.abi, tasks: specs)
        return LoadedPlugin(info: info, file: file, copy: copy, ffi: FFIPlugin(functions: functions))
    }
}
