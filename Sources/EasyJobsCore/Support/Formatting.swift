#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

extension Duration {
    /// The duration as a number of seconds, fractions included.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension Double {
    /// As messages write a number of seconds or a limit: `5` rather than `5.0`, `0.5` as is.
    public var formatted: String {
        self == rounded() && magnitude < 1e15 ? String(Int(self)) : String(self)
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal, two digits a byte (a digest, a token's hash). Written out by hand:
    /// `String(format:)` per byte costs more than the hash itself, and needs Foundation proper.
    public var hexEncoded: String {
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (newlines kept), as Foundation's
    /// `trimmingCharacters(in: .whitespaces)`, which FoundationEssentials lacks.
    public var trimmingWhitespace: String {
        let isBlank: (Character) -> Bool = { $0.isWhitespace && !$0.isNewline }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(self[first...last])
    }

    /// Percent-encoded for one segment of a URL path or a query value: every byte but letters,
    /// digits and `-._~!$'()*,:;@` is written as `%XX`, so `/ ? & = # +` cannot change what
    /// the URL means.
    public var percentEncodedComponent: String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$'()*,:;@".utf8)
        let digits = Array("0123456789ABCDEF".utf8)
        var bytes = [UInt8]()
        for byte in utf8 {
            if allowed.contains(byte) {
                bytes.append(byte)
            } else {
                bytes += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Error {
    /// What went wrong, in words: the message of an `EasyJobsError`, the system's text for a
    /// file system error ("No such file or directory"), else the error as Swift prints it.
    /// (Foundation's `localizedDescription` is not part of FoundationEssentials.)
    public var readableDescription: String {
        if let error = self as? EasyJobsError { return error.message }
        if let error = self as? CocoaError, let underlying = error.underlying as? POSIXError {
            return String(cString: strerror(underlying.code.rawValue))
        }
        if let error = self as? POSIXError { return String(cString: strerror(error.code.rawValue)) }
        return "\(self)"
    }
}
