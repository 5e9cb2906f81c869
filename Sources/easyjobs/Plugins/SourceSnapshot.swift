import Foundation

/// What a plugin package's sources are now: each file's modification time and size, under
/// `Sources/` and the manifest. Compared between looks, it tells `plugin dev` a file was saved;
/// looking a few times a second costs a directory walk, and needs no inotify watch per folder.
struct SourceSnapshot: Equatable {
    private var files: [String: [Double]] = [:]

    init(package: URL) {
        let manager = FileManager.default
        var paths = [package.appendingPathComponent("Package.swift").path]
        let sources = package.appendingPathComponent("Sources")
        if let walker = manager.enumerator(atPath: sources.path) {
            while let relative = walker.nextObject() as? String {
                paths.append(sources.appendingPathComponent(relative).path)
            }
        }
        for path in paths {
            guard let attributes = try? manager.attributesOfItem(atPath: path), attributes[.type] as? FileAttributeType == .typeRegular else {
                continue
            }
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            files[path] = [modified, Double((attributes[.size] as? NSNumber)?.intValue ?? 0)]
        }
    }

    var isEmpty: Bool { files.isEmpty }
}
