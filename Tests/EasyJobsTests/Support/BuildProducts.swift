import Foundation

/// Where SwiftPM put this build's products: the `easyjobs` executable and the plugin `.so`s
/// sit beside the test bundle.
enum BuildProducts {
    static let directory: URL = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: executable)
        // The test binary lives in `<build>/EasyJobsPackageTests.xctest` (a file on Linux).
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("easyjobs").path) { return url }
        }
        fatalError("cannot find the build directory holding `easyjobs` from \(executable); run `swift build --build-tests` first")
    }()

    static var easyjobs: URL { directory.appendingPathComponent("easyjobs") }

    static func plugin(_ name: String) -> URL {
        directory.appendingPathComponent("lib\(name).so")
    }
}

/// A fresh temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init(_ label: String = "easyjobs-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func subdirectory(_ name: String) throws -> URL {
        let sub = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        return sub
    }

    /// A plugin directory holding copies of the named plugins.
    func pluginDirectory(_ name: String = "plugins", plugins: [String]) throws -> URL {
        let directory = try subdirectory(name)
        for plugin in plugins {
            try FileManager.default.copyItem(at: BuildProducts.plugin(plugin), to: directory.appendingPathComponent("lib\(plugin).so"))
        }
        return directory
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}
