@_exported import EasyJobsJSON

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// `JSONValue` lives in `EasyJobsJSON` (under SDK/), shared with plugins. The host and the
// manager read JSON that arrives from outside: there a syntax error is a `malformed_request`.
extension JSONValue {
    /// Decodes JSON bytes; fragments such as `3` or `"x"` are allowed.
    public static func decode(_ data: some DataProtocol) throws(EasyJobsError) -> JSONValue {
        try decode(data, maxDepth: JSONNesting.maximumDepth)
    }

    static func decode(_ data: some DataProtocol, maxDepth: Int) throws(EasyJobsError) -> JSONValue {
        do {
            return try read(data, maxDepth: maxDepth)
        } catch {
            throw EasyJobsError(.malformedRequest, error.description)
        }
    }

    /// Decodes JSON text.
    public static func parse(_ text: String) throws(EasyJobsError) -> JSONValue {
        do {
            return try read(text: text)
        } catch {
            throw EasyJobsError(.malformedRequest, error.description)
        }
    }
}
