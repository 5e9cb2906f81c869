#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import EasyJobsCore
import Logging
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// Reads `EASYJOBS_*` settings for options not given as flags.
public enum Environment {
    public static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}

/// Logging to standard error at `--log-level` or `EASYJOBS_LOG_LEVEL` (default info).
public enum LogSetup {
    public static func bootstrap(level: String?, label: String) -> Logger {
        let raw = level ?? Environment.value("EASYJOBS_LOG_LEVEL") ?? "info"
        let parsed = Logger.Level(rawValue: raw.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsed
            return handler
        }
        return Logger(label: label)
    }
}

/// Prints an error as one clear line and exits non-zero.
public func fail(_ error: any Error) -> Never {
    let message = (error as? EasyJobsError)?.message ?? "\(error)"
    StandardStreams.writeError("error: \(message)\n")
    exit(1)
}

/// Writes a line to standard output at once: tests and scripts wait for it.
public func announce(_ line: String) {
    StandardStreams.writeOutput(line + "\n")
}

/// A flag's number of seconds as a `Duration`, for the manager's and the host's flags alike.
public enum Seconds {
    /// Longer than anything is kept or waited for (about 31 million years), and a number of
    /// seconds a `Duration` holds.
    public static let maximum: Double = 1e15

    /// `Duration.seconds(_:)` would trap on `nan` or `inf`, which the argument parser reads as
    /// numbers: those, negative and out-of-range values are refused, naming the flag.
    public static func flag(_ value: Double, flag: String) throws -> Duration {
        guard value >= 0, value <= maximum else { throw ValidationError("\(flag) must be a number of seconds, got \(value)") }
        return .seconds(value)
    }
}
