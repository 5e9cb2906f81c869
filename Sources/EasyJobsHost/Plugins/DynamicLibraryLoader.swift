import CEasyJobsABI
import Crypto
import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Loads plugins with `dlopen` from content-addressed copies.
///
/// A copy named by the file's SHA-256 means a replaced plugin always loads as a new object
/// (glibc would hand back the old one for a path it already has open), and identical builds
/// share one. Plugins are opened `RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE` and never closed:
/// the Swift runtime keeps pointers into a plugin's metadata after `dlclose`, so unmapping one
/// crashes the process later.
public struct DynamicLibraryLoader: PluginLoader {
    /// Where the content-addressed copies go.
    public let cacheDirectory: URL
    /// Checks a copy in another process before this one opens it; `nil` opens it directly.
    public let probe: PluginProbe?

    public init(cacheDirectory: URL, probe: PluginProbe? = nil) {
        self.cacheDirectory = cacheDirectory
        self.probe = probe
    }

    public func load(file: URL) async throws(EasyJobsError) -> LoadedPlugin {
        let (copy, sha256) = try prepare(file: file)
        // A plugin that crashes while it describes itself must not take this process with it.
        try await probe?.check(copy: copy, file: file.lastPathComponent)
        return try open(copy: copy, file: file, sha256: sha256)
    }

    /// Opens a plugin in this process, with no probe first. `name` is the file name refusals
    /// give (a probe opens the copy of a file named otherwise).
    public func loadInProcess(file: URL, name: String? = nil) throws(EasyJobsError) -> LoadedPlugin {
        let (copy, sha256) = try prepare(file: file)
        return try open(copy: copy, file: file, sha256: sha256, name: name)
    }

    /// Reads the file, computes its hash and makes its content-addressed copy.
    func prepare(file: URL) throws(EasyJobsError) -> (URL, String) {
        let check = DescriptorCheck(file: file.lastPathComponent)
        let contents: Data
        do {
            contents = try Data(contentsOf: file)
        } catch {
            throw check.refusal("cannot read the file: \(error.readableDescription)")
        }
        let sha256 = SHA256.hash(data: contents).hexEncoded
        let copy = try contentAddressedCopy(of: contents, sha256: sha256, name: file.lastPathComponent, check: check)
        return (copy, sha256)
    }

    func open(copy: URL, file: URL, sha256: String, name: String? = nil) throws(EasyJobsError) -> LoadedPlugin {
        let check = DescriptorCheck(file: name ?? file.lastPathComponent)
        // The last look before dlopen runs the library's code: it must be the bytes that were hashed.
        let actual = try Self.sha256(ofFile: copy)
        guard actual == sha256 else {
            throw check.refusal("its copy \(copy.lastPathComponent) changed after it was checked (SHA-256 \(actual), expected \(sha256))")
        }
        if copy.lastPathComponent.hasSuffix(FFIManifest.fileExtension) {
            return try FFILoader.load(manifestFile: copy, file: file, sha256: sha256, check: check)
        }
        guard let handle = dlopen(copy.path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw check.refusal("not a loadable shared library (\(reason))", ["field": "file"])
        }

        if dlsym(handle, EASYJOBS_ENTRY_SYMBOL_V1) == nil, let manifest = dlsym(handle, FFIManifest.symbol) {
            return try FFILoader.load(handle: handle, manifest: manifest, file: file, copy: copy, sha256: sha256, check: check)
        }
        guard let entry = dlsym(handle, EASYJOBS_ENTRY_SYMBOL_V1) else {
            // A plugin of another major exports another symbol; its frozen header says which.
            for major in 2...16 {
                if let other = dlsym(handle, "easyjobs_plugin_entry_v\(major)") {
                    let header = Self.header(at: Self.call(entry: other))
                    try check.check(header, entryMajor: UInt16(major))
                }
            }
            throw check.refusal(
                "no EasyJobs entry point \(EASYJOBS_ENTRY_SYMBOL_V1): not an EasyJobs plugin",
                ["field": "entry_point", "expected": EASYJOBS_ENTRY_SYMBOL_V1])
        }

        let raw = Self.call(entry: entry)
        try check.check(Self.header(at: raw), entryMajor: HostBuildInfo.abiMajor)
        let descriptor = raw.assumingMemoryBound(to: easyjobs_plugin_descriptor.self)
        let d = descriptor.pointee
        try check.checkBuild(swiftVersion: String(cString: d.swift_version), target: String(cString: d.target))
        let tasks = try check.tasks(fromJSON: Data(bytes: d.tasks_json, count: d.tasks_json_len))

        let info = PluginInfo(
            name: String(cString: d.plugin_name),
            version: String(cString: d.plugin_version),
            sha256: sha256,
            abi: "\(d.abi_major).\(d.abi_minor)",
            tasks: tasks)
        return LoadedPlugin(info: info, file: file, copy: copy, descriptor: descriptor, sdkVersion: String(cString: d.sdk_version))
    }

    private func contentAddressedCopy(of contents: Data, sha256: String, name: String, check: DescriptorCheck) throws(EasyJobsError) -> URL {
        // The extension stays: it tells a library from a manifest file, in the child too.
        let fileExtension = name.hasSuffix(FFIManifest.fileExtension) ? FFIManifest.fileExtension : ".so"
        let stem = name.hasSuffix(fileExtension) ? String(name.dropLast(fileExtension.count)) : name
        let suffix = "-\(sha256.prefix(16))"
        // A copy made earlier (a subprocess child loads the host's) is already content-addressed.
        let copy =
            stem.hasSuffix(suffix)
            ? cacheDirectory.appendingPathComponent(name) : cacheDirectory.appendingPathComponent("\(stem)\(suffix)\(fileExtension)")
        // A copy given back to us (a child, a probe) is verified by `open` before it is opened.
        if stem.hasSuffix(suffix) { return copy }
        try Self.securePrivateDirectory(cacheDirectory, check: check)
        // An existing copy is used only if it still hashes to its name: anything else is replaced.
        if (try? Self.sha256(ofFile: copy)) == sha256 { return copy }
        do {
            // Written aside and renamed, so a concurrent host never opens a half-written copy.
            let temporary = cacheDirectory.appendingPathComponent(".\(UUID().uuidString).tmp")
            guard FileManager.default.createFile(atPath: temporary.path, contents: contents, attributes: [.posixPermissions: 0o600]) else {
                throw EasyJobsError(.pluginRefused, "cannot write \(temporary.path)")
            }
            guard rename(temporary.path, copy.path) == 0 else {
                throw EasyJobsError(.pluginRefused, "cannot rename the copy into place (errno \(errno))")
            }
        } catch {
            throw check.refusal("cannot copy the plugin to \(cacheDirectory.path): \(error.readableDescription)")
        }
        return copy
    }

    /// Creates `directory` with mode 0700, or checks an existing one: it must belong to this
    /// user and be writable by nobody else, since whoever can write it chooses the code loaded.
    static func securePrivateDirectory(_ directory: URL, check: DescriptorCheck) throws(EasyJobsError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw check.refusal("cannot create the plugin cache \(directory.path): \(error.readableDescription)")
        }
        var status = stat()
        guard lstat(directory.path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
            throw check.refusal("the plugin cache \(directory.path) is not a directory")
        }
        guard status.st_uid == geteuid() else {
            throw check.refusal("the plugin cache \(directory.path) belongs to another user (uid \(status.st_uid)); it must be this user's own")
        }
        if status.st_mode & 0o077 != 0 {
            // Ours but open to others (made by an older version or a umask): close it.
            guard chmod(directory.path, 0o700) == 0 else {
                throw check.refusal("the plugin cache \(directory.path) is writable by others and cannot be made private (errno \(errno))")
            }
        }
    }

    /// The SHA-256 of a file's contents, hex.
    public static func sha256(ofFile file: URL) throws(EasyJobsError) -> String {
        do {
            let contents = try Data(contentsOf: file)
            return SHA256.hash(data: contents).hexEncoded
        } catch {
            throw EasyJobsError(.pluginRefused, "cannot read \(file.path): \(error.readableDescription)")
        }
    }

    private static func call(entry: UnsafeMutableRawPointer) -> UnsafeRawPointer {
        typealias Entry = @convention(c) () -> UnsafeRawPointer
        return unsafeBitCast(entry, to: Entry.self)()
    }

    private static func header(at raw: UnsafeRawPointer) -> DescriptorCheck.Header {
        DescriptorCheck.Header(
            magic: raw.load(fromByteOffset: 0, as: UInt32.self),
            structSize: raw.load(fromByteOffset: 4, as: UInt32.self),
            abiMajor: raw.load(fromByteOffset: 8, as: UInt16.self),
            abiMinor: raw.load(fromByteOffset: 10, as: UInt16.self))
    }
}
