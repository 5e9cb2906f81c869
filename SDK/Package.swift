// swift-tools-version: 6.0
import PackageDescription

/// The EasyJobs SDK on its own: what a plugin builds against, with swift-log as its one
/// dependency, so a plugin resolves and builds nothing of the manager or the host. The
/// EasyJobs package depends on it by path, so both always build the same SDK.
///
/// ```swift
/// dependencies: [.package(path: "../easyjobs/SDK")],
/// targets: [.target(name: "Greeter", dependencies: [.product(name: "EasyJobsSDK", package: "SDK")])]
/// ```
let package = Package(
    name: "EasyJobsSDK",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EasyJobsSDK", targets: ["EasyJobsSDK"]),
        /// The C ABI between host and plugin: `include/easyjobs_abi.h`.
        .library(name: "CEasyJobsABI", targets: ["CEasyJobsABI"]),
        /// The one JSON value, shared by plugins (through the SDK) and the host and manager.
        .library(name: "EasyJobsJSON", targets: ["EasyJobsJSON"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2")
    ],
    targets: [
        .target(name: "CEasyJobsABI", path: "CEasyJobsABI"),
        .target(name: "EasyJobsJSON", path: "EasyJobsJSON", swiftSettings: [.enableUpcomingFeature("ExistentialAny")]),
        .target(
            name: "EasyJobsSDK",
            dependencies: ["CEasyJobsABI", "EasyJobsJSON", .product(name: "Logging", package: "swift-log")],
            path: "EasyJobsSDK",
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
