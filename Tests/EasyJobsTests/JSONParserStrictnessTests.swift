import EasyJobsCore
import Foundation
import Testing

/// The project's own JSON parser, on the claim and report paths and at the API's edge, takes
/// exactly RFC 8259 JSON (issue 15): numbers as JSON writes them, strings of valid UTF-8.
@Suite struct JSONParserStrictnessTests {
    @Test(arguments: [
        "+1", "01", ".5", "1.", "-", "1e", "0x10", "NaN", "Infinity", "[1,]", "{\"a\":1,}", "'a'", "\"\\x41\"", "tru", "[1] 2", "", "\"a\tb\"",
        "\"a\u{01}b\"",
    ])
    func notJSONIsRefused(_ text: String) {
        #expect(throws: EasyJobsError.self) { _ = try JSONValue.decode(Data(text.utf8)) }
    }

    @Test(arguments: [[0xFF], [0x22, 0xC3, 0x28, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF8, 0x88, 0x80, 0x80, 0x80, 0x22]] as [[UInt8]])
    func invalidUTF8IsRefused(_ bytes: [UInt8]) {
        #expect(throws: EasyJobsError.self) { _ = try JSONValue.decode(Data(bytes)) }
    }

    @Test func jsonIsTakenAsWritten() throws {
        #expect(try JSONValue.decode(Data("-0.5e3".utf8)) == .double(-500))
        #expect(try JSONValue.decode(Data("0".utf8)) == .int(0))
        #expect(try JSONValue.decode(Data("2.0".utf8)) == .double(2))
        #expect(try JSONValue.decode(Data(#"{"a": [1, "é\u00e9", null, true]}"#.utf8)) == ["a": [1, "éé", nil, true]])
        #expect(try JSONValue.decode(Data(#""\ud83d\ude00""#.utf8)) == "😀")
    }

    /// Plugins read JSON with the same parser (`EasyJobsJSON`, shared through the SDK): a syntax
    /// error says where it is; the manager and host turn it into `malformed_request`.
    @Test func aSyntaxErrorNamesItsOffsetOnBothSides() throws {
        #expect(throws: JSONSyntaxError(offset: 7, reason: "a number with a leading zero")) { _ = try JSONValue.read(text: #"{"a": 01}"#) }
        let error = try #require(throws: EasyJobsError.self) { _ = try JSONValue.parse(#"{"a": 01}"#) }
        #expect(error.code == .malformedRequest)
        #expect(error.message == "invalid JSON at byte 7: a number with a leading zero")
    }

    @Test func theValueRendersAsPythonDoesForPrintedLinesAndAsJSONOnTheWire() throws {
        let value: JSONValue = ["b": [1, 2.5, nil, true], "a": "x"]
        #expect(value.description == "{'a': 'x', 'b': [1, 2.5, None, True]}")
        #expect(value.jsonString == #"{"a":"x","b":[1,2.5,null,true]}"#)
        #expect(try JSONValue.read(value.encoded()) == value)
    }
}
