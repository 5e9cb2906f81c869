import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real `easyjobs` process started by a test, with its output captured. Ended by PID only.
final class ChildProcess: Sendable {
    let process: Process
    let label: String
    private let output = OutputBuffer()
    private let errors = OutputBuffer()

    /// `fileSizeLimitKiB`: the process may write no file past this size (RLIMIT_FSIZE), as on a full disk.
    /// `executable`: another program than `easyjobs` (a test server).
    init(
        label: String, arguments: [String], environment: [String: String] = [:], fileSizeLimitKiB: Int? = nil, executable: URL? = nil
    ) throws {
        self.label = label
        let process = Process()
        if let executable {
            process.executableURL = executable
            process.arguments = arguments
        } else if let fileSizeLimitKiB {
            // The shell sets the limit and ignores SIGXFSZ, so writes fail with EFBIG, then becomes easyjobs.
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -f \(fileSizeLimitKiB); trap '' XFSZ; exec \"$0\" \"$@\"", BuildProducts.easyjobs.path] + arguments
        } else {
            process.executableURL = BuildProducts.easyjobs
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        env["EASYJOBS_LOG_LEVEL"] = env["EASYJOBS_TEST_LOG_LEVEL"] ?? "info"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        self.process = process
        stdout.fileHandleForReading.readabilityHandler = { [output] handle in
            let data = handle.availableData
            // Empty at the end of the stream: the process and its children closed it.
            if data.isEmpty { handle.readabilityHandler = nil }
            output.append(data)
        }
        stderr.fileHandleForReading.readabilityHandler = { [errors] handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            errors.append(data)
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { output.text }
    var stderr: String { errors.text }
    var isRunning: Bool { process.isRunning }

    /// Waits until standard output has a line matching `pattern` and returns its first capture group.
    func waitForOutput(_ pattern: String, timeout: Duration = .seconds(30)) async throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = stdout
            if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) {
                let range = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
                return String(text[Range(range, in: text)!])
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("\(label) did not print /\(pattern)/ in time.\nstdout:\n\(stdout)\nstderr:\n\(stderr.suffix(4000))")
    }

    /// Waits for the process to exit (failing after `timeout`), then for everything it wrote to
    /// be read: both pipes at their end, or 2 s at most, since a child of the process that
    /// inherited them may keep them open after the process itself is gone. Returns its exit status.
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(120)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw TestFailure("\(label) did not exit within \(timeout)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        let drained = ContinuousClock.now + .seconds(2)
        while (!output.ended || !errors.ended) && ContinuousClock.now < drained { try await Task.sleep(for: .milliseconds(10)) }
        return process.terminationStatus
    }

    /// Sends `signal` and waits for the process to exit; SIGKILL if it outlives `timeout`.
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(15)) async {
        guard process.isRunning else { return }
        kill(pid, signal)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What a child wrote to one of its pipes so far.
final class OutputBuffer: Sendable {
    private let data = Mutex((bytes: Data(), ended: false))
    /// An empty chunk is the end of the stream.
    func append(_ chunk: Data) { data.withLock { chunk.isEmpty ? ($0.ended = true) : $0.bytes.append(chunk) } }
    var text: String { data.withLock { String(decoding: $0.bytes, as: UTF8.self) } }
    var ended: Bool { data.withLock { $0.ended } }
}
