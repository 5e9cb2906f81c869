#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads JSON text into a ``JSONValue`` in one pass.
///
/// `JSONDecoder` with `JSONValue.init(from:)` tries each type in turn and pays for a thrown
/// error on every miss: about 150 µs for a two-key object, which made JSON most of the cost of
/// an enqueue, a claim or a finish. This reads the bytes once, in a few microseconds. Numbers
/// without a fraction or an exponent are `int` (unless they do not fit, then `double`).
enum JSONParser {
    /// `maxDepth` is ``JSONValue/maximumDepth`` for values; protocol messages add the levels
    /// of their envelope around the values they carry.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int = JSONValue.maximumDepth) throws(JSONSyntaxError) -> JSONValue {
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.failure("unexpected characters after the value") }
        return value
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        let maxDepth: Int

        init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
            guard index < bytes.count else { throw failure("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            default: return try number()
            }
        }

        private mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue {
            try checkDepth(depth)
            index += 1
            var object: [String: JSONValue] = [:]
            skipWhitespace()
            if try peek() == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            while true {
                guard try peek() == UInt8(ascii: "\"") else { throw failure("expected a key") }
                let key = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                object[key] = try value(depth: depth + 1)
                skipWhitespace()
                switch try next() {
                case UInt8(ascii: ","): skipWhitespace()
                case UInt8(ascii: "}"): return .object(object)
                default: throw failure("expected ',' or '}'")
                }
            }
        }

        private mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue {
            try checkDepth(depth)
            index += 1
            var array: [JSONValue] = []
            skipWhitespace()
            if try peek() == UInt8(ascii: "]") {
                index += 1
                return .array(array)
            }
            while true {
                array.append(try value(depth: depth + 1))
                skipWhitespace()
                switch try next() {
                case UInt8(ascii: ","): skipWhitespace()
                case UInt8(ascii: "]"): return .array(array)
                default: throw failure("expected ',' or ']'")
                }
            }
        }

        private mutating func string() throws(JSONSyntaxError) -> String {
            index += 1
            let start = index
            var ascii = true
            // Most strings have no escapes: take them as one slice.
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
                if bytes[index] < 0x20 { throw failure("control character in a string") }
                if bytes[index] >= 0x80 { ascii = false }
                index += 1
            }
            guard index < bytes.count else { throw failure("unterminated string") }
            if bytes[index] == UInt8(ascii: "\"") {
                index += 1
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index - 1])
                if ascii { return String(decoding: slice, as: UTF8.self) }
                return try validated(slice)
            }
            var utf8 = Array(bytes[start..<index])
            while true {
                let byte = try next()
                switch byte {
                case UInt8(ascii: "\""):
                    return try validated(utf8)
                case UInt8(ascii: "\\"):
                    switch try next() {
                    case UInt8(ascii: "\""): utf8.append(UInt8(ascii: "\""))
                    case UInt8(ascii: "\\"): utf8.append(UInt8(ascii: "\\"))
                    case UInt8(ascii: "/"): utf8.append(UInt8(ascii: "/"))
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"): utf8.append(contentsOf: try unicodeEscape())
                    default: throw failure("invalid escape")
                    }
                case 0..<0x20:
                    throw failure("control character in a string")
                default:
                    utf8.append(byte)
                }
            }
        }

        /// The string of these bytes, which must be UTF-8: replacing what is not would change
        /// what the client sent without telling it.
        private func validated(_ utf8: some Collection<UInt8>) throws(JSONSyntaxError) -> String {
            guard let string = String(validating: utf8, as: UTF8.self) else { throw failure("a string that is not UTF-8") }
            return string
        }

        /// The UTF-8 bytes of a `\uXXXX` escape (the `\u` already read), joining surrogate pairs.
        private mutating func unicodeEscape() throws(JSONSyntaxError) -> [UInt8] {
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by `\u` and a low one.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw failure("unpaired surrogate")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid unicode escape") }
            return Array(String(Character(unicode)).utf8)
        }

        private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = try next()
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw failure("invalid unicode escape")
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, as RFC 8259 writes numbers:
        /// `+1`, `01`, `.5` and `1.` are not JSON, whatever `Double("…")` would make of them.
        private mutating func number() throws(JSONSyntaxError) -> JSONValue {
            let start = index
            var isInteger = true
            func isDigit(_ at: Int) -> Bool { at < bytes.count && bytes[at] >= UInt8(ascii: "0") && bytes[at] <= UInt8(ascii: "9") }
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw failure("unexpected character") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                if isDigit(index) { throw failure("a number with a leading zero") }
            } else {
                while isDigit(index) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                guard isDigit(index) else { throw failure("a fraction without digits") }
                while isDigit(index) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard isDigit(index) else { throw failure("an exponent without digits") }
                while isDigit(index) { index += 1 }
            }
            return try numberValue(start: start, isInteger: isInteger)
        }

        private func numberValue(start: Int, isInteger: Bool) throws(JSONSyntaxError) -> JSONValue {
            guard index > start else { throw failure("unexpected character") }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger, let int = Int(text) { return .int(int) }
            guard let double = Double(text), double.isFinite else { throw failure("invalid number '\(text)'") }
            return .double(double)
        }

        private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count,
                UnsafeBufferPointer(start: word.utf8Start, count: count).elementsEqual(bytes[index..<index + count])
            else { throw failure("unexpected character") }
            index += count
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): index += 1
                default: return
                }
            }
        }

        private func peek() throws(JSONSyntaxError) -> UInt8 {
            guard index < bytes.count else { throw failure("unexpected end") }
            return bytes[index]
        }

        private mutating func next() throws(JSONSyntaxError) -> UInt8 {
            let byte = try peek()
            index += 1
            return byte
        }

        private mutating func expect(_ byte: UInt8) throws(JSONSyntaxError) {
            guard try next() == byte else { throw failure("expected '\(Character(Unicode.Scalar(byte)))'") }
        }

        /// `depth` counts the containers around this one: the outermost is at 0.
        private func checkDepth(_ depth: Int) throws(JSONSyntaxError) {
            guard depth < maxDepth else {
                throw failure("nested deeper than \(maxDepth) levels")
            }
        }

        func failure(_ reason: String) -> JSONSyntaxError {
            JSONSyntaxError(offset: index, reason: reason)
        }
    }
}
