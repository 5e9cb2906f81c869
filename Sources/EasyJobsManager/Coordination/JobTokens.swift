import Crypto
import EasyJobsCore
import Foundation

/// Credentials for subprocess children: a token lets its bearer report one job's result, for
/// one run, and nothing else.
///
/// A token is `<job id>.<lease>.<HMAC-SHA256(key, "<job id>:<lease>")>`, so the manager stores
/// nothing per token, and a token is useless for another job or another run of the same job. The key
/// lives in the data directory, so tokens outlive a manager restart; children never see the
/// shared secret.
public struct JobTokens: Sendable {
    private let key: SymmetricKey

    public init(key: SymmetricKey) {
        self.key = key
    }

    /// The key in `directory/job-token.key`, created (readable by the owner only) if missing.
    public static func load(from directory: URL) throws -> JobTokens {
        let file = directory.appendingPathComponent("job-token.key")
        if let data = try? Data(contentsOf: file), data.count == 32 {
            return JobTokens(key: SymmetricKey(data: data))
        }
        let key = SymmetricKey(size: .bits256)
        let data = key.withUnsafeBytes { Data($0) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: file.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw EasyJobsError(.invalidConfiguration, "cannot write the job token key to \(file.path)")
        }
        return JobTokens(key: key)
    }

    /// The credential of one run: `<job id>.<lease>.<mac>`. It names its job and run, so the
    /// manager checks it before reading the body it guards.
    public func token(jobID: String, lease: Int) -> String {
        "\(jobID).\(lease).\(mac(jobID: jobID, lease: lease))"
    }

    /// The job and lease a token was made for, if it is genuine.
    public func verify(_ token: String) -> LeasedJob? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, let lease = Int(parts[parts.count - 2]) else { return nil }
        let jobID = parts.dropLast(2).joined(separator: ".")
        return constantTimeEquals(String(parts[parts.count - 1]), mac(jobID: jobID, lease: lease)) ? LeasedJob(jobID: jobID, lease: lease) : nil
    }

    private func mac(jobID: String, lease: Int) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(jobID):\(lease)".utf8), using: key)
        return HostSessions.base64URL(Data(code))
    }
}
