import Foundation
import EasyJobsCore
import Testing

@Suite struct TaskSpecTests {
    let spec = TaskSpec(
        name: "typed",
        parameters: [
            TaskParameter(name: "text", type: .string),
            TaskParameter(name: "count", type: .int),
            TaskParameter(name: "ratio", type: .double),
            TaskParameter(name: "flag", type: .bool, required: false, default: false),
            TaskParameter(name: "note", type: .string, required: false),
        ])

    @Test func bindsValidArgumentsAndFillsDefaults() throws {
        let bound = try spec.bind(["text": "x", "count": 2, "ratio": 3])
        #expect(bound == ["text": "x", "count": 2, "ratio": 3, "flag": false])
    }

    @Test func reportsEveryProblemByName() {
        #expect {
            try spec.bind(["text": 1, "ratio": "high", "extra": true])
        } throws: { error in
            guard let error = error as? EasyJobsError else { return false }
            return error.code == .invalidArguments
                && error.message.contains("argument 'text' must be string, got int")
                && error.message.contains("argument 'ratio' must be double, got string")
                && error.message.contains("missing required argument 'count' (int)")
                && error.message.contains("unexpected argument 'extra'")
        }
    }

    @Test func refusesANonObject() {
        #expect(throws: EasyJobsError.self) { try spec.bind([1, 2]) }
    }

    @Test func intIsNotDouble() {
        #expect(ParameterType.double.accepts(.int(1)))
        #expect(!ParameterType.int.accepts(.double(1.5)))
        #expect(ParameterType.any.accepts(.null))
    }

    @Test func jsonValueKeepsIntegersAndDoubles() throws {
        let value = try JSONValue.decode(Array(#"{"a":1,"b":1.5,"c":[true,null,"s"],"d":{"e":-2}}"#.utf8))
        #expect(value == ["a": 1, "b": 1.5, "c": [true, nil, "s"], "d": ["e": -2]])
        #expect(try JSONValue.decode(value.encoded()) == value)
    }
}

@Suite struct WireCodingTests {
    @Test func datesRoundTripWithMicroseconds() throws {
        let date = Date(timeIntervalSince1970: 1_795_713_374.627435)
        let text = WireCoding.format(date)
        #expect(text == "2026-11-26T17:16:14.627435Z")
        let parsed = try #require(WireCoding.parse(text))
        #expect(abs(parsed.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001)
        #expect(WireCoding.parse("2026-11-26T17:16:14Z") == Date(timeIntervalSince1970: 1_795_713_374))
        #expect(WireCoding.parse("yesterday") == nil)
    }

    /// The hand-written civil-date arithmetic agrees with Foundation's ISO 8601 format over
    /// leap years and centuries, both ways.
    @Test func datesAgreeWithFoundationAcrossTheCalendar() throws {
        var instant = 0.0
        while instant < 4_200_000_000 {
            let date = Date(timeIntervalSince1970: instant)
            let text = WireCoding.format(date)
            #expect(String(text.prefix(19)) + "Z" == date.formatted(.iso8601), "\(instant)")
            #expect(WireCoding.parse(text).map { abs($0.timeIntervalSince1970 - instant) < 0.000_001 } == true, "\(text)")
            instant += 3_203_417.25
        }
        #expect(WireCoding.parse("2024-02-29T12:00:00Z") != nil)
        #expect(WireCoding.parse("2000-02-29T12:00:00Z") != nil)
        for invalid in [
            "2023-02-29T12:00:00Z", "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
            "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z", "1969-12-31T23:59:59Z",
        ] {
            #expect(WireCoding.parse(invalid) == nil, "\(invalid)")
        }
    }
}

@Suite struct PipelineValidationTests {
    func task(_ name: String, before: [String] = [], after: [String] = [], onFailure: String? = nil, parameters: [TaskParameter] = []) -> TaskSpec {
        TaskSpec(name: name, parameters: parameters, options: TaskOptions(runBefore: before, runAfter: after, onFailure: onFailure))
    }

    @Test func findsUnknownNamesAndDependenciesThatNeedArguments() {
        let problems = PipelineValidation.problems(in: [
            task("a", before: ["b", "ghost"], after: ["c"], onFailure: "handler"),
            task("b", parameters: [TaskParameter(name: "x", type: .int)]),
            task("c"),
        ])
        #expect(
            problems["a"] == [
                "run_before names 'ghost', which no task of this queue has",
                "on_failure names 'handler', which no task of this queue has",
                "run_before task 'b' is started without arguments but requires x",
            ])
        #expect(problems["b"] == nil && problems["c"] == nil)
    }

    @Test func findsCyclesThroughEitherEdge() {
        #expect(PipelineValidation.cycles(in: [task("a", after: ["b"]), task("b", before: ["a"])]) == [["a", "b"]])
        #expect(PipelineValidation.cycles(in: [task("self", after: ["self"])]) == [["self"]])
        #expect(PipelineValidation.cycles(in: [task("a", before: ["b", "c"]), task("b", before: ["c"]), task("c")]).isEmpty)
        let seed = [
            task("extract", after: ["transform"]), task("transform", after: ["load"]), task("load", after: ["compute"]),
            task("compute", before: ["configure"]), task("configure", before: ["deploy", "prepare"]), task("deploy"), task("prepare"),
        ]
        #expect(PipelineValidation.problems(in: seed).isEmpty)
    }

    @Test func retryLimitsAndBackoff() {
        #expect(TaskOptions().attemptLimit == 2)
        #expect(TaskOptions(retryPolicy: .never).attemptLimit == 1)
        #expect(TaskOptions(retryPolicy: .retryAlways).attemptLimit == nil)
        #expect(TaskOptions(retryPolicy: .retryAlways, maxAttempts: 4).attemptLimit == 4)
        let options = TaskOptions(backoff: 2)
        #expect(options.retryDelay(afterAttempt: 1, random: 1) == 2)
        #expect(options.retryDelay(afterAttempt: 3, random: 1) == 8)
        #expect(options.retryDelay(afterAttempt: 3, random: 0) == 4)
        #expect(options.retryDelay(afterAttempt: 40, random: 1) == TaskOptions.maxBackoff)
    }
}
