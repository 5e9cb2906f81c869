import Crypto
import EasyJobsCore
import Foundation

/// Credentials for subprocess children: a token lets its bearer report one job's result, for
/// one attempt, and nothing else.
///
/// A token is `<attempt>.<HMAC-SHA256(key, "<job id>:<attempt>")>`, so the manager stores
/// nothing per token, and a token is useless for another job or another attempt. The key
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

    public func token(jobID: String, attempt: Int) -> String {
        "\(attempt).\(mac(jobID: jobID, attempt: attempt))"
    }

    /// The attempt a token was made for, if it is genuine for `jobID`.
    public func verify(_ token: String, jobID: String) -> Int? {
        let parts = token.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let attempt = Int(parts[0]) else { return nil }
        return constantTimeEquals(String(parts[1]), mac(jobID: jobID, attempt: attempt)) ? attempt : nil
    }

    private func mac(jobID: String, attempt: Int) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(jobID):\(attempt)".utf8), using: key)
        return Data(code).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
