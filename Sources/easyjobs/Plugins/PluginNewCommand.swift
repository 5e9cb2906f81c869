import ArgumentParser
import EasyJobsCore
import EasyJobsHost
import EasyJobsHostCLI
import Foundation

/// `easyjobs plugin new NAME`: a SwiftPM package that builds a plugin, depending on the SDK
/// alone (Swift) or on nothing (C).
struct PluginNewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new", abstract: "Create a SwiftPM package for a new plugin that builds a .so for a host.")

    enum Language: String, ExpressibleByArgument, CaseIterable {
        case swift, c
    }

    @Argument(help: "The plugin's name, such as Greeter.") var name: String
    @Option(help: "Where to create the package (default: the current directory).") var path = "."
    @Option(
        help: """
            The SDK to build against: a path (the SDK directory, or an EasyJobs checkout holding SDK/), \
            or the URL of a git repository of the SDK package. Default: the checkout this executable was built in.
            """)
    var sdk: String?
    @Option(help: "swift (the SDK) or c (plain C functions and a manifest, called through libffi).") var lang: Language = .swift

    func validate() throws {
        guard name.first?.isLetter == true, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw ValidationError("the name must be a Swift identifier, such as Greeter; got '\(name)'")
        }
    }

    func run() throws {
        let package = URL(fileURLWithPath: path).appendingPathComponent(name)
        guard !FileManager.default.fileExists(atPath: package.path) else {
            fail(EasyJobsError(.invalidConfiguration, "\(package.path) already exists"))
        }
        let files: [String: String]
        switch lang {
        case .swift:
            files = PluginTemplate.swiftPackage(name: name, sdk: try resolveSDK())
        case .c:
            files = PluginTemplate.cPackage(name: name)
        }
        for (relative, text) in files.sorted(by: { $0.key < $1.key }) {
            let file = package.appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        print("created \(package.path)")
        print("develop it:  easyjobs plugin dev \(package.path)   (rebuilds on save and serves each build)")
        print(
            "test a task: easyjobs plugin test \(package.path)/.build/debug/lib\(name).so \(lang == .c ? "add --json '{\"a\": 2}'" : "greet --json '{\"name\": \"Ada\"}'")"
        )
        print("ship it:     swift build -c release, then copy .build/release/lib\(name).so into a host's --plugins directory")
    }

    /// The package dependency line of the SDK `--sdk` names, or of this executable's checkout.
    func resolveSDK() throws -> PluginTemplate.SDKSource {
        guard let sdk else {
            guard let repository = Self.findRepository() else {
                fail(EasyJobsError(.invalidConfiguration, "cannot find the EasyJobs SDK from this executable; give it with --sdk PATH|URL"))
            }
            return .path(repository.appendingPathComponent("SDK").standardizedFileURL.path)
        }
        if sdk.contains("://") || sdk.hasPrefix("git@") { return .url(sdk) }
        let directory = URL(fileURLWithPath: sdk).standardizedFileURL
        for candidate in [directory, directory.appendingPathComponent("SDK")] {
            let manifest = candidate.appendingPathComponent("Package.swift")
            if let text = try? String(contentsOf: manifest, encoding: .utf8), text.contains("name: \"EasyJobsSDK\"") {
                return .path(candidate.path)
            }
        }
        fail(
            EasyJobsError(
                .invalidConfiguration,
                "\(directory.path) is not the EasyJobs SDK: expected a Package.swift named EasyJobsSDK there or in its SDK/ directory"))
    }

    /// The checkout holding `SDK/Package.swift`, walking up from this executable (which lives in its `.build`).
    static func findRepository() -> URL? {
        var directory = URL(fileURLWithPath: HostExecutable.current).deletingLastPathComponent()
        while directory.pathComponents.count > 1 {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("SDK/Package.swift").path) { return directory }
            directory.deleteLastPathComponent()
        }
        return nil
    }
}
