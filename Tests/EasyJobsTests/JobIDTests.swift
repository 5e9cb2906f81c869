import EasyJobsCore
import FoundationEssentials
import Testing

/// Job ids are written by hand from random bits (issue 14): they must stay what clients have
/// always been given, lowercase version 4 UUIDs.
@Suite struct JobIDTests {
    @Test func anIDIsALowercaseVersion4UUID() throws {
        for _ in 0..<1_000 {
            let id = Job.newID()
            let parsed = try #require(UUID(uuidString: id), "\(id) is not a UUID")
            #expect(parsed.uuidString.lowercased() == id)
            let bytes = parsed.uuid
            #expect(bytes.6 >> 4 == 4, "version nibble of \(id)")
            #expect(bytes.8 >> 6 == 0b10, "variant bits of \(id)")
        }
    }

    @Test func idsDoNotRepeatAndUseEveryRandomDigit() {
        let ids = (0..<20_000).map { _ in Job.newID() }
        #expect(Set(ids).count == ids.count)
        // Every random hex position takes all 16 digits over 20,000 ids (the variant's 8, 9, a,
        // b), so no position is stuck: a shift or mask slip would pin one.
        let texts = ids.map { Array($0.utf8) }
        for offset in 0..<36 where ![8, 13, 14, 18, 23].contains(offset) {
            let digits = Set(texts.map { $0[offset] })
            #expect(digits.count == (offset == 19 ? 4 : 16), "position \(offset) took \(digits.count) digits")
        }
        #expect(Set(texts.map { $0[14] }) == [UInt8(ascii: "4")])
    }
}
