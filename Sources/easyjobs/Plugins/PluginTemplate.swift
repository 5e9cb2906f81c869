/// The files of a new plugin package, by path inside it.
enum PluginTemplate {
    /// Where the SDK package comes from.
    enum SDKSource: Equatable {
        case path(String)
        case url(String)

        /// The package's identity, as `.product(name:package:)` names it: the last path component,
        /// without `.git`.
        var identity: String {
            let text: String
            switch self {
            case .path(let path): text = path
            case .url(let url): text = url
            }
            var last = text.split(separator: "/").last.map(String.init) ?? text
            if last.hasSuffix(".git") { last.removeLast(4) }
            return last
        }

        var dependency: String {
            switch self {
            case .path(let path): ".package(path: \"\(path)\")"
            case .url(let url): ".package(url: \"\(url)\", from: \"\(PluginTemplate.sdkVersion)\")"
            }
        }
    }

    /// The SDK release a package from a URL starts from: the SDK's `BuildInfo.sdkVersion`.
    static let sdkVersion = "0.1.0"

    static let gitignore = ".build/\n.build-*/\nPackage.resolved\n"

    static func swiftPackage(name: String, sdk: SDKSource) -> [String: String] {
        [
            "Package.swift": swiftManifest(name: name, sdk: sdk),
            "Sources/\(name)/\(name)Plugin.swift": swiftSource(name: name),
            ".gitignore": gitignore,
        ]
    }

    static func swiftManifest(name: String, sdk: SDKSource) -> String {
        """
        // swift-tools-version: 6.0
        import PackageDescription

        let package = Package(
            name: "\(name)",
            products: [
                // The host loads this shared library: copy lib\(name).so into its --plugins directory.
                .library(name: "\(name)", type: .dynamic, targets: ["\(name)"]),
            ],
            dependencies: [
                // The EasyJobs SDK alone: its one dependency is swift-log.
                \(sdk.dependency),
            ],
            targets: [
                .target(name: "\(name)", dependencies: [.product(name: "EasyJobsSDK", package: "\(sdk.identity)")]),
            ],
            swiftLanguageModes: [.v6]
        )

        """
    }

    static func swiftSource(name: String) -> String {
        let plugin = name.prefix(1).lowercased() + name.dropFirst()
        return """
            import EasyJobsSDK

            struct GreetArguments: Codable, Sendable {
                var name: String
            }

            struct Greeting: Codable, Sendable {
                var text: String
            }

            let \(plugin) = Plugin(name: "\(plugin)", version: "0.1.0") {
                TaskDefinition("greet", description: "Says hello to `name`.") { (args: GreetArguments, context) -> Greeting in
                    context.logger.info("greeting \\(args.name)")
                    context.print("hello, \\(args.name)")
                    return Greeting(text: "hello, \\(args.name)")
                }
            }

            @_cdecl("easyjobs_plugin_entry_v1")
            public func easyjobsPluginEntry() -> UnsafePointer<easyjobs_plugin_descriptor> {
                \(plugin).export()
            }

            """
    }

    /// A C plugin: plain functions and the manifest that types them (docs/ffi-plugins.md).
    static func cPackage(name: String) -> [String: String] {
        let plugin = name.lowercased()
        return [
            "Package.swift": """
            // swift-tools-version: 6.0
            import PackageDescription

            // A C plugin: no SDK. The host reads the manifest from easyjobs_ffi_manifest_v1 and calls
            // the functions it names through libffi.
            let package = Package(
                name: "\(name)",
                products: [
                    // The host loads this shared library: copy lib\(name).so into its --plugins directory.
                    .library(name: "\(name)", type: .dynamic, targets: ["\(name)"]),
                ],
                targets: [
                    .target(name: "\(name)"),
                ]
            )

            """,
            "Sources/\(name)/include/\(plugin).h": """
            #pragma once
            #include <stdint.h>

            const char *easyjobs_ffi_manifest_v1(void);
            int64_t add(int64_t a, int64_t b);

            """,
            "Sources/\(name)/\(plugin).c": """
            #include "\(plugin).h"

            // The manifest: each task's C signature, parameters and options. Tasks of foreign code
            // run in a child process unless they say "subprocess": false.
            static const char manifest[] =
                "{\\"abi\\": \\"1.0\\", \\"name\\": \\"\(plugin)\\", \\"version\\": \\"0.1.0\\", \\"tasks\\": ["
                "{\\"name\\": \\"add\\", \\"description\\": \\"a + b\\", \\"returns\\": \\"int64\\","
                " \\"parameters\\": [{\\"name\\": \\"a\\", \\"type\\": \\"int64\\"}, {\\"name\\": \\"b\\", \\"type\\": \\"int64\\", \\"default\\": 1}]}"
                "]}";

            const char *easyjobs_ffi_manifest_v1(void) { return manifest; }

            int64_t add(int64_t a, int64_t b) {
                // Wraps instead of the undefined behaviour of signed overflow.
                return (int64_t)((uint64_t)a + (uint64_t)b);
            }

            """,
            ".gitignore": gitignore,
        ]
    }
}
