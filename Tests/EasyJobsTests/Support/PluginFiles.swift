import Foundation

/// Builds of the `Versioned` test plugin made by patching the markers of the built file, so a
/// test gets as many versions as it wants without compiling.
enum PluginFiles {
    static func versioned(_ version: Int, mode: Int = 0) throws -> Data {
        var bytes = [UInt8](try Data(contentsOf: BuildProducts.plugin("Versioned")))
        try patch(&bytes, marker: "EJVERSION=", with: String(format: "%08d", version))
        try patch(&bytes, marker: "EJMODE=", with: String(mode))
        return Data(bytes)
    }

    static func built(_ name: String) throws -> Data {
        try Data(contentsOf: BuildProducts.plugin(name))
    }

    /// Puts `contents` at `directory/name` atomically: written aside under a hidden name, then renamed.
    static func install(_ contents: Data, as name: String, in directory: URL) throws {
        let temporary = directory.appendingPathComponent(".\(name).\(UUID().uuidString).tmp")
        try contents.write(to: temporary)
        guard rename(temporary.path, directory.appendingPathComponent(name).path) == 0 else {
            throw TestFailure("rename failed: \(errno)")
        }
    }

    private static func patch(_ bytes: inout [UInt8], marker: String, with digits: String) throws {
        let needle = Array(marker.utf8)
        guard let start = (0...(bytes.count - needle.count)).first(where: { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }) else {
            throw TestFailure("marker \(marker) not found in libVersioned.so")
        }
        for (offset, byte) in digits.utf8.enumerated() { bytes[start + needle.count + offset] = byte }
    }
}
