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
}
