// The host is built on Linux calls with no portable equivalent here: inotify (hot reload),
// PR_SET_PDEATHSIG (children die with their host), /proc (RSS, a stopped parent), and glibc's
// dlopen flags. Package.swift has to name macOS for the SDK's sake (plugin authors build
// against it anywhere), so a macOS build of the host stops here with the reason, instead of at
// the first missing Linux symbol.
#if !os(Linux)
#error(
    "EasyJobs' host and manager run on Linux only (inotify, PR_SET_PDEATHSIG, /proc). Build the SDK alone on macOS: swift build --product EasyJobsSDK"
)
#endif
