import CEasyJobsABI

/// What this host build is: plugins must match it.
enum HostBuildInfo {
    static let abiMajor = UInt16(EASYJOBS_ABI_MAJOR)
    static let abiMinor = UInt16(EASYJOBS_ABI_MINOR)

    /// The compiler major.minor: plugins share this process's Swift runtime, which has no
    /// stable ABI on Linux.
    static var swiftVersion: String {
        #if compiler(>=6.5)
        "6.5+"
        #elseif compiler(>=6.4)
        "6.4"
        #elseif compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #elseif compiler(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }

    static var target: String {
        #if arch(x86_64)
        let arch = "x86_64"
        #elseif arch(arm64)
        let arch = "aarch64"
        #else
        let arch = "unknown"
        #endif
        #if os(Linux)
        return arch + "-unknown-linux-gnu"
        #elseif os(macOS)
        return arch + "-apple-macosx"
        #else
        return arch + "-unknown"
        #endif
    }
}
