import Foundation

/// New builds of the `Versioned` test plugin, made by patching its version marker.
enum VersionedPlugin {
    static func install(_ built: Data, version: Int, in directory: URL) throws {
        var bytes = [UInt8](built)
        let needle = Array("EJVERSION=".utf8)
        guard let start = (0...(bytes.count - needle.count)).first(where: { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }) else {
            throw CocoaError(.fileReadCorruptFile)
        }
        for (offset, byte) in String(format: "%08d", version).utf8.enumerated() { bytes[start + needle.count + offset] = byte }
        let temporary = directory.appendingPathComponent(".libVersioned.so.tmp")
        try Data(bytes).write(to: temporary)
        guard rename(temporary.path, directory.appendingPathComponent("libVersioned.so").path) == 0 else {
            throw CocoaError(.fileWriteUnknown)
        }
    }
}
