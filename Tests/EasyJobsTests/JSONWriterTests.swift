import EasyJobsCore
import Foundation
import Testing

/// The JSON the project writes (wire messages, stored arguments and results): compact, keys
/// sorted, every string escaped where JSON needs it, whether it is copied whole or byte by byte.
@Suite struct JSONWriterTests {
    private func text(_ value: JSONValue) -> String { String(decoding: value.encoded(), as: UTF8.self) }

    @Test func stringsAreCopiedWholeOrEscapedWhereJSONNeedsIt() throws {
        #expect(text("") == #""""#)
        #expect(text("plain") == #""plain""#)
        let long = String(repeating: "0123456789abcdef", count: 8) + "é☃"
        #expect(text(.string(long)) == "\"\(long)\"")
        #expect(text(#"say "hi""#) == #""say \"hi\"""#)
        #expect(text(#"C:\dir"#) == #""C:\\dir""#)
        #expect(text("a\nb\rc\td") == #""a\nb\rc\td""#)
        #expect(text("bell\u{07}") == #""bell\u0007""#)
        #expect(text(.string(long + "\"")) == "\"\(long)\\\"\"")
        for value: JSONValue in ["", "plain", .string(long), #"say "hi""#, "a\nb\u{1F}", "é\u{0}"] {
            #expect(try JSONValue.decode(value.encoded()) == value)
        }
    }

    @Test func objectsHaveSortedKeysAtEveryLevel() {
        let value: JSONValue = ["b": 1, "a": ["z": true, "y": nil, "\"q": "x"], "c": [2.0, "s"]]
        #expect(text(value) == #"{"a":{"\"q":"x","y":null,"z":true},"b":1,"c":[2.0,"s"]}"#)
    }

    /// An object written from its members (the host's run context) is the JSON of those members
    /// in the order given, escaped as any other, and reads back as the same object.
    @Test func anObjectFromItsMembersIsWrittenInTheirOrder() throws {
        let members: [(key: String, value: JSONValue)] = [("attempt", 2), ("job_id", "a\"b"), ("queue", "ETL"), ("task", ["x": nil])]
        let bytes = JSONValue.encodedObject(members)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"attempt":2,"job_id":"a\"b","queue":"ETL","task":{"x":null}}"#)
        #expect(try JSONValue.decode(bytes) == ["attempt": 2, "job_id": "a\"b", "queue": "ETL", "task": ["x": nil]])
        #expect(String(decoding: JSONValue.encodedObject([]), as: UTF8.self) == "{}")
    }
}
