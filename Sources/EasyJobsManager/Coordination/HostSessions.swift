import Crypto
import EasyJobsCore
import Foundation

/// Session tokens of hosts: issued at registration, required on every other host endpoint.
///
/// A token is `<random>.<host id>`: the host id in it says which host it claims to be, and the
/// random part (256 bits) proves it. The manager keeps only its SHA-256, in the store, so a
/// restarted manager (or another manager on the same store) accepts the sessions of hosts
/// that were registered before, and a read of the database does not yield a usable token.
enum HostSessions {
    static func issue(hostID: String) -> String {
        let random = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return base64URL(random) + "." + hostID
    }

    /// Lowercase hex of the token's SHA-256 (checked on every host request).
    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).hexEncoded
    }

    /// The host id a token claims; `nil` for a token that is not of the issued shape.
    static func hostID(of token: String) -> String? {
        guard let dot = token.firstIndex(of: "."), token.distance(from: token.startIndex, to: dot) == 43 else { return nil }
        let hostID = String(token[token.index(after: dot)...])
        return hostID.isEmpty ? nil : hostID
    }

    /// Whether `token` is the session recorded for its host (`sessionHash`).
    static func matches(_ token: String, sessionHash: String?) -> Bool {
        guard let sessionHash else { return false }
        return constantTimeEquals(hash(token), sessionHash)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
