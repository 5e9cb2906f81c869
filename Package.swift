// swift-tools-version: 6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

// The SDK package's products (SDK/Package.swift), as this package's targets use them.
let sdk = Target.Dependency.product(name: "EasyJobsSDK", package: "SDK")
let abi = Target.Dependency.product(name: "CEasyJobsABI", package: "SDK")
let json = Target.Dependency.product(name: "EasyJobsJSON", package: "SDK")

let package = Package(
    name: "EasyJobs",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "easyjobs", targets: ["easyjobs"]),
        /// The host alone (`easyjobs host` becomes it when it is installed beside `easyjobs`).
        .executable(name: "easyjobs-host", targets: ["easyjobs-host"]),
        /// The example plugin of the seed (extract → transform → load → compute).
        .library(name: "ETL", type: .dynamic, targets: ["ETL"]),
        /// Plugins used by the tests and the benchmark.
        .library(name: "TestTasks", type: .dynamic, targets: ["TestTasks"]),
        .library(name: "IncompatibleABI", type: .dynamic, targets: ["IncompatibleABI"]),
        .library(name: "NotAPlugin", type: .dynamic, targets: ["NotAPlugin"]),
        .library(name: "CyclicTasks", type: .dynamic, targets: ["CyclicTasks"]),
        .library(name: "Crashers", type: .dynamic, targets: ["Crashers"]),
        .library(name: "Versioned", type: .dynamic, targets: ["Versioned"]),
        .library(name: "Scheduled", type: .dynamic, targets: ["Scheduled"]),
        /// A plugin written in C (no Swift), called through libffi.
        .library(name: "CMathPlugin", type: .dynamic, targets: ["CMathPlugin"]),
        .executable(name: "easyjobs-bench", targets: ["EasyJobsBench"]),
    ],
    dependencies: [
        // The SDK is a package of its own, so a plugin depends on it alone (SDK/Package.swift).
        .package(path: "SDK"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // MARK: Core, store, manager, host
        .target(name: "EasyJobsCore", dependencies: [json], swiftSettings: swiftSettings),
        .target(name: "CHostSupport"),
        .systemLibrary(name: "CFFI", path: "Sources/CFFI", providers: [.apt(["libffi-dev"])]),
        .target(
            name: "EasyJobsStore",
            dependencies: [
                "EasyJobsCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EasyJobsPostgres",
            dependencies: [
                "EasyJobsCore",
                "EasyJobsStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EasyJobsManager",
            dependencies: [
                "EasyJobsCore",
                "EasyJobsStore",
                "EasyJobsAMQP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("Pages/dashboard.html"), .embedInCode("Pages/docs.html")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EasyJobsClient",
            dependencies: [
                "EasyJobsCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EasyJobsHost",
            dependencies: [
                "EasyJobsCore",
                "EasyJobsClient",
                abi,
                "CHostSupport",
                "CFFI",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: swiftSettings
        ),
        // The host's commands, shared by `easyjobs` and `easyjobs-host`: FoundationEssentials
        // only, and nothing of the manager's.
        .target(
            name: "EasyJobsHostCLI",
            dependencies: [
                "EasyJobsCore",
                "EasyJobsHost",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "easyjobs-host",
            dependencies: [
                "EasyJobsHostCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "easyjobs",
            dependencies: [
                "EasyJobsHostCLI",
                "EasyJobsCore",
                "EasyJobsStore",
                "EasyJobsManager",
                "EasyJobsPostgres",
                "EasyJobsAMQP",
                "EasyJobsClient",
                "EasyJobsHost",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: AMQP 0-9-1 client (RabbitMQ)
        .target(
            name: "EasyJobsAMQP",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Plugins
        .target(name: "ETL", dependencies: [sdk], path: "Plugins/ETL", swiftSettings: swiftSettings),
        .target(name: "TestTasks", dependencies: [sdk], path: "Plugins/Testing/TestTasks", swiftSettings: swiftSettings),
        .target(name: "IncompatibleABI", dependencies: [abi], path: "Plugins/Testing/IncompatibleABI"),
        .target(name: "NotAPlugin", path: "Plugins/Testing/NotAPlugin", swiftSettings: swiftSettings),
        .target(name: "CyclicTasks", dependencies: [sdk], path: "Plugins/Testing/CyclicTasks", swiftSettings: swiftSettings),
        .target(name: "Crashers", dependencies: [sdk], path: "Plugins/Testing/Crashers", swiftSettings: swiftSettings),
        .target(name: "VersionedMarker", path: "Plugins/Testing/VersionedMarker"),
        .target(name: "Scheduled", dependencies: [sdk], path: "Plugins/Testing/Scheduled", swiftSettings: swiftSettings),
        .target(
            name: "Versioned", dependencies: [sdk, "VersionedMarker"], path: "Plugins/Testing/Versioned", swiftSettings: swiftSettings),
        // A C plugin: no SDK, only a manifest and plain C functions.
        .target(name: "CMathPlugin", path: "Plugins/FFI/CMath"),

        // MARK: Benchmarks and tests
        .executableTarget(
            name: "EasyJobsBench",
            dependencies: [
                "EasyJobsCore",
                "EasyJobsClient",
                "EasyJobsStore",
                "EasyJobsPostgres",
                "EasyJobsHost",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/EasyJobsBench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EasyJobsStoreTests",
            dependencies: [
                "EasyJobsCore",
                "EasyJobsStore",
                "EasyJobsPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EasyJobsAMQPTests",
            dependencies: [
                "EasyJobsAMQP",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The manager's rules in-process: the real router and a real SQLite file, no child processes.
        .testTarget(
            name: "EasyJobsManagerTests",
            dependencies: [
                "EasyJobsCore",
                "EasyJobsStore",
                "EasyJobsManager",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EasyJobsTests",
            dependencies: [
                "EasyJobsCore",
                "EasyJobsClient",
                "EasyJobsHost",
                abi,
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
