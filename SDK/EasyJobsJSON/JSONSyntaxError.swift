/// JSON text that is not JSON (RFC 8259): where reading stopped and why.
///
/// The host and the manager turn it into their own `malformed_request` error; a plugin sees it
/// only when it parses JSON text itself with ``JSONValue/parse(_:)``.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The byte offset in the input where the value stopped being JSON.
    public var offset: Int
    /// What was wrong there ("a number with a leading zero", "unterminated string").
    public var reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}
