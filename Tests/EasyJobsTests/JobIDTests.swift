import EasyJobsCore
import FoundationEssentials
import Testing

/// Job ids are written by hand from the clock and random bits (issue 14): lowercase version 7
/// UUIDs, which sort by when they were made, so the store's id index grows at its end.
@Suite struct JobIDTests {
    @Test func anIDIsALowercaseVersion7UUIDOfItsTime() throws {
        let now = Date(timeIntervalSince1970: 1_764_806_400.125)
        for _ in 0..<1_000 {
            let id = Job.newID(at: now)
            let parsed = try #require(UUID(uuidString: id), "\(id) is not a UUID")
            #expect(parsed.uuidString.lowercased() == id)
            let bytes = parsed.uuid
            #expect(bytes.6 >> 4 == 7, "version nibble of \(id)")
            #expect(bytes.8 >> 6 == 0b10, "variant bits of \(id)")
            // The first 48 bits are the time in milliseconds since 1970.
            #expect(id.hasPrefix("019ae6a8-987d-"), "\(id) does not start with 1,764,806,400,125 ms")
        }
    }

    @Test func idsSortByTimeAndDoNotRepeat() {
        let start = Date(timeIntervalSince1970: 1_764_806_400)
        // 2 ms apart: ids made in one millisecond are in random order among themselves.
        let ordered = (0..<200).map { Job.newID(at: start.addingTimeInterval(Double($0) * 0.002)) }
        #expect(zip(ordered, ordered.dropFirst()).allSatisfy { $0 < $1 })
        let ids = (0..<20_000).map { _ in Job.newID(at: start) }
        #expect(Set(ids).count == ids.count)
        // Every random hex position takes all 16 digits over 20,000 ids (the variant's 8, 9, a,
        // b), so no position is stuck: a shift or mask slip would pin one.
        let texts = ids.map { Array($0.utf8) }
        for offset in 15..<36 where ![18, 23].contains(offset) {
            let digits = Set(texts.map { $0[offset] })
            #expect(digits.count == (offset == 19 ? 4 : 16), "position \(offset) took \(digits.count) digits")
        }
        #expect(Set(texts.map { $0[14] }) == [UInt8(ascii: "7")])
    }
}
