/// The one limit on how deeply JSON may nest, enforced wherever JSON enters: request bodies,
/// task results, stored values.
///
/// Foundation's coders and the recursive writer both recurse once per level, and values that
/// parse but cannot be encoded again strand whatever holds them (a claim answered 500, a
/// report retried forever). 64 levels is deeper than any real argument and far from the stack.
public enum JSONNesting {
    /// Objects and arrays nested in one another, counting the outermost as 1.
    public static let maximumDepth = JSONValue.maximumDepth

    /// Levels a protocol message may wrap around the values it carries (a report wraps a
    /// result in a list, a report and an outcome).
    public static let envelopeDepth = 8

    /// Throws `malformed_request` when `bytes` nest objects and arrays deeper than `limit`
    /// (``maximumDepth`` by default). A scan, not a parse: brackets inside strings do not count.
    public static func check(_ bytes: some Sequence<UInt8>, limit: Int = maximumDepth, what: String = "request body") throws(EasyJobsError) {
        // Bodies arrive contiguous (a ByteBuffer, Data): scanning a buffer pointer costs a
        // tenth of stepping a generic iterator, and every claim and report goes through here.
        let scanned = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(EasyJobsError) in try scan(buffer, limit: limit, what: what) }
        }
        if let scanned { return try scanned.get() }
        try Array(bytes).withUnsafeBufferPointer { buffer in
            Result { () throws(EasyJobsError) in try scan(buffer, limit: limit, what: what) }
        }.get()
    }

    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int, what: String) throws(EasyJobsError) {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > limit {
                    throw EasyJobsError(
                        .malformedRequest, "\(what) nests JSON deeper than \(maximumDepth) levels",
                        context: ["limit": "\(maximumDepth)"])
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            default:
                break
            }
        }
    }

    /// The nesting depth of a value (a scalar is 0).
    public static func depth(of value: JSONValue) -> Int {
        // Iterative: this guards the recursive code, so it must not recurse itself.
        var deepest = 0
        var stack: [(JSONValue, Int)] = [(value, 0)]
        while let (next, level) = stack.popLast() {
            switch next {
            case .array(let values):
                deepest = max(deepest, level + 1)
                stack.append(contentsOf: values.map { ($0, level + 1) })
            case .object(let members):
                deepest = max(deepest, level + 1)
                stack.append(contentsOf: members.values.map { ($0, level + 1) })
            default:
                break
            }
        }
        return deepest
    }
}
