import EasyJobsCore
import Foundation
import Testing

/// The pure checks behind the reliability fixes.
struct HostileInputUnitTests {
    /// Regression: the recursive cycle check overflowed the stack on a 200,000-task chain.
    @Test func aCycleThroughTwoHundredThousandTasksIsFoundWithoutRecursion() {
        let count = 200_000
        let tasks = (0..<count).map { TaskSpec(name: "t\($0)", options: TaskOptions(runAfter: ["t\(($0 + 1) % count)"])) }
        let cycles = PipelineValidation.cycles(in: tasks)
        #expect(cycles.count == 1)
        #expect(cycles.first?.count == count)
        let problems = PipelineValidation.problems(
            in: Array(tasks.prefix(50_000)) + [TaskSpec(name: "t50000", options: TaskOptions(runAfter: ["t0"]))])
        #expect(problems["t0"]?.first?.contains("(50001 tasks)") == true)
    }

    /// Regression: `…00.1e300Z` was accepted and crashed the manager when formatted again.
    @Test func wireDatesAreStrict() {
        #expect(WireCoding.parse("2026-12-01T10:00:00.123456Z") != nil)
        #expect(WireCoding.parse("2026-12-01T10:00:00Z") != nil)
        for bad in [
            "2026-12-01T10:00:00.1e300Z", "2026-12-01T10:00:00.Z", "2026-12-01T10:00:00.+1Z", "99999-12-01T10:00:00Z",
            "0001-01-01T00:00:00Z", "2026-12-01 10:00:00Z", "2026-12-01T10:00:00.1234567890Z", "",
        ] {
            #expect(WireCoding.parse(bad) == nil, "\(bad)")
        }
        // A date stored before the check still renders.
        #expect(WireCoding.format(Date(timeIntervalSince1970: 1e300)) == "9999-12-31T23:59:59.000000Z")
    }

    @Test func nestingIsMeasuredWithoutRecursionAndBracketsInStringsDoNotCount() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: EasyJobsError.self) { try JSONNesting.check(Array(deep.utf8)) }
        try JSONNesting.check(Array((String(repeating: "[", count: 64) + String(repeating: "]", count: 64)).utf8))
        try JSONNesting.check(Array(#"{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"["}"#.utf8))
        #expect(throws: EasyJobsError.self) { try JSONValue.decode(Data(deep.utf8)) }
        var value: JSONValue = 1
        for _ in 0..<1_000 { value = .array([value]) }
        #expect(JSONNesting.depth(of: value) == 1_000)
    }
}
