import EasyJobsCore
import Foundation
import Testing

/// Cron and `@every` schedules: parsing, next fire times, catch-up windows and errors.
@Suite struct CronScheduleTests {
    /// A UTC instant from `2025-05-01T12:00:00Z`; a test date that does not parse is a test bug.
    static func utc(_ text: String) -> Date {
        guard let date = ISO8601DateFormatter().date(from: text) else { preconditionFailure("bad test date \(text)") }
        return date
    }

    func utc(_ text: String) -> Date { Self.utc(text) }

    func next(_ expression: String, after text: String) throws -> Date? {
        try CronSchedule(parsing: expression).nextFire(after: utc(text))
    }

    // MARK: Cron fields

    @Test func everyMinuteFiresOnTheNextWholeMinute() throws {
        #expect(try next("* * * * *", after: "2025-05-01T12:00:30Z") == utc("2025-05-01T12:01:00Z"))
        // Strictly after: a fire time itself is not returned again.
        #expect(try next("* * * * *", after: "2025-05-01T12:00:00Z") == utc("2025-05-01T12:01:00Z"))
        let schedule = try CronSchedule(parsing: "* * * * *")
        #expect(schedule.nextFire(after: utc("2025-05-01T12:00:59Z").addingTimeInterval(0.999)) == utc("2025-05-01T12:01:00Z"))
        #expect(schedule.nextFire(after: utc("2025-05-01T11:59:59Z").addingTimeInterval(0.999)) == utc("2025-05-01T12:00:00Z"))
    }

    @Test func everyQuarterHour() throws {
        #expect(try next("*/15 * * * *", after: "2025-05-01T12:07:00Z") == utc("2025-05-01T12:15:00Z"))
        #expect(try next("*/15 * * * *", after: "2025-05-01T12:15:00Z") == utc("2025-05-01T12:30:00Z"))
        #expect(try next("*/15 * * * *", after: "2025-05-01T12:45:00Z") == utc("2025-05-01T13:00:00Z"))
        #expect(try next("*/15 * * * *", after: "2025-05-01T23:50:00Z") == utc("2025-05-02T00:00:00Z"))
    }

    @Test func firstOfTheMonthAcrossMonthAndYearEnds() throws {
        #expect(try next("0 0 1 * *", after: "2025-01-31T00:00:00Z") == utc("2025-02-01T00:00:00Z"))
        #expect(try next("0 0 1 * *", after: "2025-02-28T23:59:00Z") == utc("2025-03-01T00:00:00Z"))
        #expect(try next("0 0 1 * *", after: "2025-12-31T23:59:00Z") == utc("2026-01-01T00:00:00Z"))
        #expect(try next("0 0 1 * *", after: "2025-12-31T23:59:59Z") == utc("2026-01-01T00:00:00Z"))
    }

    @Test func leapDayOnlyInLeapYears() throws {
        #expect(try next("0 0 29 2 *", after: "2025-03-01T00:00:00Z") == utc("2028-02-29T00:00:00Z"))
        #expect(try next("0 0 29 2 *", after: "2028-02-29T00:00:00Z") == utc("2032-02-29T00:00:00Z"))
        // 2100 is not a leap year: eight years between leap days.
        #expect(try next("0 0 29 2 *", after: "2096-03-01T00:00:00Z") == utc("2104-02-29T00:00:00Z"))
    }

    @Test func sundayIsBothZeroAndSeven() throws {
        let start = utc("2025-05-01T00:00:00Z")
        let end = utc("2025-06-30T00:00:00Z")
        let zero = try CronSchedule(parsing: "0 12 * * 0").fires(between: start, and: end, limit: 100)
        let seven = try CronSchedule(parsing: "0 12 * * 7").fires(between: start, and: end, limit: 100)
        let sun = try CronSchedule(parsing: "0 12 * * sun").fires(between: start, and: end, limit: 100)
        #expect(zero.first == utc("2025-05-04T12:00:00Z"))
        #expect(zero.count == 9)
        #expect(zero == seven)
        #expect(zero == sun)
        #expect(zero.allSatisfy { Self.weekday($0) == 1 })
    }

    @Test func weekdaysSkipTheWeekend() throws {
        // 2025-05-02 is a Friday.
        #expect(try next("0 9 * * MON-FRI", after: "2025-05-02T10:00:00Z") == utc("2025-05-05T09:00:00Z"))
        #expect(try next("0 9 * * MON-FRI", after: "2025-05-02T08:59:00Z") == utc("2025-05-02T09:00:00Z"))
        let week = try CronSchedule(parsing: "0 9 * * mon-fri")
            .fires(between: utc("2025-05-04T00:00:00Z"), and: utc("2025-05-11T00:00:00Z"), limit: 100)
        #expect(week.map(Self.weekday) == [2, 3, 4, 5, 6])
    }

    @Test func rangeEndingOnSundayByName() throws {
        let fires = try CronSchedule(parsing: "0 0 * * FRI-SUN")
            .fires(between: utc("2025-05-01T00:00:00Z"), and: utc("2025-05-08T00:00:00Z"), limit: 100)
        #expect(fires == [utc("2025-05-02T00:00:00Z"), utc("2025-05-03T00:00:00Z"), utc("2025-05-04T00:00:00Z")])
    }

    @Test func listOfDays() throws {
        #expect(try next("0 0 1,15 * *", after: "2025-01-02T00:00:00Z") == utc("2025-01-15T00:00:00Z"))
        #expect(try next("0 0 1,15 * *", after: "2025-01-15T00:00:00Z") == utc("2025-02-01T00:00:00Z"))
    }

    @Test func rangeWithStep() throws {
        let fires = try CronSchedule(parsing: "5-10/2 * * * *")
            .fires(between: utc("2025-05-01T12:00:00Z"), and: utc("2025-05-01T13:10:00Z"), limit: 100)
        #expect(
            fires == ["12:05", "12:07", "12:09", "13:05", "13:07", "13:09"].map { utc("2025-05-01T\($0):00Z") })
    }

    @Test func startWithStepRunsToTheEndOfTheField() throws {
        let fires = try CronSchedule(parsing: "5/20 * * * *")
            .fires(between: utc("2025-05-01T12:00:00Z"), and: utc("2025-05-01T13:00:00Z"), limit: 100)
        #expect(fires == ["12:05", "12:25", "12:45"].map { utc("2025-05-01T\($0):00Z") })
    }

    @Test func monthNamesAndRanges() throws {
        #expect(try next("0 0 1 jan-Mar *", after: "2025-03-15T00:00:00Z") == utc("2026-01-01T00:00:00Z"))
        #expect(try next("0 0 1 JUL,dec *", after: "2025-03-15T00:00:00Z") == utc("2025-07-01T00:00:00Z"))
    }

    @Test func dayOfMonthOrDayOfWeekWhenBothAreRestricted() throws {
        let start = utc("2025-05-01T00:00:00Z")  // a Thursday; May 13 is a Tuesday
        let end = utc("2025-06-30T00:00:00Z")
        let either = try CronSchedule(parsing: "0 0 13 * FRI").fires(between: start, and: end, limit: 6)
        #expect(either == ["02", "09", "13", "16", "23", "30"].map { utc("2025-05-\($0)T00:00:00Z") })
        // With one of them `*`, only the other applies.
        let thirteenths = try CronSchedule(parsing: "0 0 13 * *").fires(between: start, and: end, limit: 100)
        #expect(thirteenths == [utc("2025-05-13T00:00:00Z"), utc("2025-06-13T00:00:00Z")])
        let fridays = try CronSchedule(parsing: "0 0 * * FRI").fires(between: start, and: end, limit: 3)
        #expect(fridays == ["02", "09", "16"].map { utc("2025-05-\($0)T00:00:00Z") })
    }

    // MARK: Macros

    struct MacroCase: Sendable, CustomTestStringConvertible {
        var macro: String
        var after: String
        var expected: String
        var testDescription: String { macro }
    }

    @Test(arguments: [
        MacroCase(macro: "@hourly", after: "2025-05-01T12:30:00Z", expected: "2025-05-01T13:00:00Z"),
        MacroCase(macro: "@daily", after: "2025-05-01T12:00:00Z", expected: "2025-05-02T00:00:00Z"),
        MacroCase(macro: "@midnight", after: "2025-05-01T00:00:00Z", expected: "2025-05-02T00:00:00Z"),
        MacroCase(macro: "@weekly", after: "2025-05-01T12:00:00Z", expected: "2025-05-04T00:00:00Z"),
        MacroCase(macro: "@monthly", after: "2025-05-01T00:00:00Z", expected: "2025-06-01T00:00:00Z"),
        MacroCase(macro: "@yearly", after: "2025-05-01T12:00:00Z", expected: "2026-01-01T00:00:00Z"),
        MacroCase(macro: "@annually", after: "2025-12-31T23:59:00Z", expected: "2026-01-01T00:00:00Z"),
        MacroCase(macro: "@DAILY", after: "2025-05-01T12:00:00Z", expected: "2025-05-02T00:00:00Z"),
    ])
    func macros(_ c: MacroCase) throws {
        let schedule = try CronSchedule(parsing: c.macro)
        #expect(schedule.nextFire(after: utc(c.after)) == utc(c.expected))
        #expect(schedule.interval == nil)
        #expect(schedule.description == c.macro)
    }

    // MARK: @every

    @Test func everyTenSecondsIsAlignedToTheEpoch() throws {
        let schedule = try CronSchedule(parsing: "@every 10s")
        #expect(schedule.interval == .seconds(10))
        #expect(schedule.nextFire(after: Date(timeIntervalSince1970: 1_700_000_003)) == Date(timeIntervalSince1970: 1_700_000_010))
        #expect(schedule.nextFire(after: Date(timeIntervalSince1970: 1_700_000_010)) == Date(timeIntervalSince1970: 1_700_000_020))
        // Two managers started at different moments agree on the fire times.
        let a = schedule.fires(
            between: Date(timeIntervalSince1970: 1_700_000_001.25), and: Date(timeIntervalSince1970: 1_700_000_060), limit: 100)
        let b = schedule.fires(
            between: Date(timeIntervalSince1970: 1_700_000_007.5), and: Date(timeIntervalSince1970: 1_700_000_060), limit: 100)
        #expect(a == (1...6).map { Date(timeIntervalSince1970: 1_700_000_000 + Double($0) * 10) })
        #expect(a == b)
        // Before 1970 the multiples are still those of the epoch.
        #expect(schedule.nextFire(after: Date(timeIntervalSince1970: -15)) == Date(timeIntervalSince1970: -10))
        #expect(schedule.nextFire(after: Date(timeIntervalSince1970: -10)) == Date(timeIntervalSince1970: 0))
    }

    @Test func everyWithCompoundDurations() throws {
        let ninety = try CronSchedule(parsing: "@every 1h30m")
        #expect(ninety.interval == .seconds(5400))
        // 1_700_000_000 / 5400 = 314814.8…, so the next multiple is 314815 × 5400.
        #expect(ninety.nextFire(after: Date(timeIntervalSince1970: 1_700_000_000)) == Date(timeIntervalSince1970: 1_700_001_000))
        #expect(try CronSchedule(parsing: "@every 2h45m10s").interval == .seconds(9910))
        #expect(try CronSchedule(parsing: "@every 5m").interval == .seconds(300))
        #expect(try CronSchedule(parsing: "@every 1h").interval == .seconds(3600))
    }

    @Test func everySubSecond() throws {
        let schedule = try CronSchedule(parsing: "@every 500ms")
        #expect(schedule.interval == .milliseconds(500))
        #expect(schedule.nextFire(after: Date(timeIntervalSince1970: 1_700_000_000.2)) == Date(timeIntervalSince1970: 1_700_000_000.5))
        // Each fire time, fed back in, moves on: none is returned twice despite `Double` rounding.
        let fires = schedule.fires(
            between: Date(timeIntervalSince1970: 1_700_000_000), and: Date(timeIntervalSince1970: 1_700_000_100), limit: 1000)
        #expect(fires.count == 200)
        #expect(Set(fires).count == 200)
        #expect(fires.allSatisfy(schedule.matches))
        let tenths = try CronSchedule(parsing: "@every 100ms")
            .fires(between: Date(timeIntervalSince1970: 1_700_000_000), and: Date(timeIntervalSince1970: 1_700_000_010), limit: 1000)
        #expect(tenths.count == 100)
    }

    // MARK: Catch-up windows

    @Test func firesBetweenCountsTheHalfOpenWindowAndHonoursTheLimit() throws {
        let schedule = try CronSchedule(parsing: "* * * * *")
        let start = utc("2025-05-01T12:00:00Z")
        let end = utc("2025-05-01T12:10:00Z")
        let all = schedule.fires(between: start, and: end, limit: 100)
        #expect(all.count == 10)
        #expect(all.first == utc("2025-05-01T12:01:00Z"))
        #expect(all.last == end)
        #expect(schedule.fires(between: start, and: end, limit: 3) == Array(all.prefix(3)))
        #expect(schedule.fires(between: start, and: end, limit: 0).isEmpty)
        #expect(schedule.fires(between: end, and: start, limit: 100).isEmpty)
    }

    @Test func manyRareFiresAreQuick() throws {
        // Two hundred years of once-a-year fires: hopeless minute by minute, instant by skipping.
        let schedule = try CronSchedule(parsing: "59 23 31 12 *")
        let clock = ContinuousClock()
        var fires: [Date] = []
        let elapsed = clock.measure {
            fires = schedule.fires(between: utc("2025-01-01T00:00:00Z"), and: utc("2300-01-01T00:00:00Z"), limit: 200)
        }
        #expect(fires.count == 200)
        #expect(fires.last == utc("2224-12-31T23:59:00Z"))
        #expect(elapsed < .seconds(5))
    }

    // MARK: Time zones

    @Test func fieldsAreReadInTheScheduleTimeZone() throws {
        let plusOne = try #require(TimeZone(secondsFromGMT: 3600))
        let nine = try CronSchedule(parsing: "0 9 * * *", timeZone: plusOne)
        #expect(nine.nextFire(after: utc("2025-05-01T00:00:00Z")) == utc("2025-05-01T08:00:00Z"))
        #expect(nine.nextFire(after: utc("2025-05-01T08:00:00Z")) == utc("2025-05-02T08:00:00Z"))
        // Monday 00:00 at +01:00 is still Sunday in UTC.
        let monday = try CronSchedule(parsing: "0 0 * * MON", timeZone: plusOne)
        #expect(monday.nextFire(after: utc("2025-05-04T12:00:00Z")) == utc("2025-05-04T23:00:00Z"))
        // New Year's Eve at -05:00 is New Year's Day in UTC.
        let minusFive = try #require(TimeZone(secondsFromGMT: -5 * 3600))
        let eve = try CronSchedule(parsing: "30 22 31 12 *", timeZone: minusFive)
        #expect(eve.nextFire(after: utc("2025-12-31T00:00:00Z")) == utc("2026-01-01T03:30:00Z"))
        // Intervals do not depend on the zone.
        let every = try CronSchedule(parsing: "@every 1h", timeZone: minusFive)
        #expect(every.nextFire(after: utc("2025-05-01T12:30:00Z")) == utc("2025-05-01T13:00:00Z"))
    }

    // MARK: Against a minute-by-minute scan

    struct ScanCase: Sendable, CustomTestStringConvertible {
        var expression: String
        /// An independent reading of the expression: minute, hour, day, month, weekday (0 = Sunday).
        var oracle: @Sendable (Int, Int, Int, Int, Int) -> Bool
        var testDescription: String { expression }
    }

    @Test(arguments: [
        ScanCase(expression: "*/7 3-5 * * *") { m, h, _, _, _ in m % 7 == 0 && (3...5).contains(h) },
        ScanCase(expression: "0,30 */6 1-3,28 * *") { m, h, d, _, _ in
            (m == 0 || m == 30) && h % 6 == 0 && ((1...3).contains(d) || d == 28)
        },
        ScanCase(expression: "15 10 29-31 * TUE,THU") { m, h, d, _, w in
            m == 15 && h == 10 && ((29...31).contains(d) || w == 2 || w == 4)
        },
        ScanCase(expression: "45 23 * 2,3 SAT-SUN") { m, h, _, mo, w in
            m == 45 && h == 23 && (mo == 2 || mo == 3) && (w == 6 || w == 0)
        },
        ScanCase(expression: "59 23 28-31 * *") { m, h, d, _, _ in m == 59 && h == 23 && d >= 28 },
    ])
    func agreesWithAScanOfEveryMinute(_ c: ScanCase) throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        // Leap-year February into March, crossing month ends of 29, 31 and 30 days.
        let start = utc("2024-02-20T00:00:00Z")
        let end = utc("2024-04-02T00:00:00Z")
        let schedule = try CronSchedule(parsing: c.expression)
        var expected: [Date] = []
        var mismatches: [Date] = []
        var t = start.addingTimeInterval(60)
        while t <= end {
            let p = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: t)
            let fires = c.oracle(p.minute!, p.hour!, p.day!, p.month!, p.weekday! - 1)
            if fires { expected.append(t) }
            if schedule.matches(t) != fires { mismatches.append(t) }
            t.addTimeInterval(60)
        }
        #expect(!expected.isEmpty)
        #expect(schedule.fires(between: start, and: end, limit: 100_000) == expected)
        #expect(mismatches.isEmpty)
        // Only whole minutes fire.
        #expect(!schedule.matches(expected[0].addingTimeInterval(1)))
    }

    // MARK: Parsing

    @Test func acceptsWhitespaceAndWildcardSteps() throws {
        let schedule = try CronSchedule(parsing: " 0\t12  *  * *  ")
        #expect(schedule.nextFire(after: utc("2025-05-01T00:00:00Z")) == utc("2025-05-01T12:00:00Z"))
        // `*/1` is still every day, so the day-of-week alone applies.
        #expect(try next("0 0 */1 * FRI", after: "2025-05-01T00:00:00Z") == utc("2025-05-02T00:00:00Z"))
        // A stepped day of month is a restriction, so either day field matches.
        #expect(try next("0 0 */10 * FRI", after: "2025-05-01T00:00:00Z") == utc("2025-05-02T00:00:00Z"))
        #expect(try next("0 0 */10 * FRI", after: "2025-05-09T00:00:00Z") == utc("2025-05-11T00:00:00Z"))
    }

    @Test func describesItselfAndComparesByExpressionAndZone() throws {
        let a = try CronSchedule(parsing: "0 9 * * MON-FRI")
        #expect(a.description == "0 9 * * MON-FRI")
        #expect(a.expression == "0 9 * * MON-FRI")
        #expect(a.timeZone.secondsFromGMT() == 0)
        #expect(a == (try CronSchedule(parsing: "0 9 * * MON-FRI")))
        #expect(a != (try CronSchedule(parsing: "0 9 * * MON-FRI", timeZone: TimeZone(secondsFromGMT: 3600)!)))
        #expect(Set([a, try CronSchedule(parsing: "0 9 * * MON-FRI"), try CronSchedule(parsing: "@daily")]).count == 2)
    }

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        var expression: String
        var field: String
        var message: String
        var testDescription: String { expression.isEmpty ? "(empty)" : expression }
    }

    @Test(arguments: [
        InvalidCase(expression: "61 * * * *", field: "minute", message: #"minute field "61" is out of range 0-59"#),
        InvalidCase(expression: "* 24 * * *", field: "hour", message: #"hour field "24" is out of range 0-23"#),
        InvalidCase(expression: "* * 0 * *", field: "day-of-month", message: #"day-of-month field "0" is out of range 1-31"#),
        InvalidCase(expression: "* * * 13 *", field: "month", message: #"month field "13" is out of range 1-12"#),
        InvalidCase(expression: "* * * * 8", field: "day-of-week", message: #"day-of-week field "8" is out of range 0-7"#),
        InvalidCase(expression: "5-1 * * * *", field: "minute", message: #"minute field "5-1" is a reversed range"#),
        InvalidCase(expression: "*/0 * * * *", field: "minute", message: #"minute field "*/0" has step 0"#),
        InvalidCase(
            expression: "* * *", field: "expression",
            message: "expected 5 fields (minute hour day-of-month month day-of-week) or a macro, got 3"),
        InvalidCase(expression: "1,,2 * * * *", field: "minute", message: #"minute field "1,,2" has an empty list item"#),
        InvalidCase(expression: "* * * FOO *", field: "month", message: #"month field "FOO" is not a number or a month name"#),
        InvalidCase(expression: "@every 0s", field: "interval", message: #"interval "0s" must be greater than zero"#),
        InvalidCase(expression: "@every abc", field: "interval", message: #"interval "abc" is not a duration"#),
        InvalidCase(expression: "@sometimes", field: "macro", message: #"unknown macro "@sometimes""#),
        InvalidCase(expression: "", field: "expression", message: "expected 5 fields (minute hour"),
        // Beyond the required forms.
        InvalidCase(expression: "   ", field: "expression", message: "or a macro, got 0"),
        InvalidCase(expression: "0 0 * * * *", field: "expression", message: "got 6"),
        InvalidCase(expression: "1,61 * * * *", field: "minute", message: #"minute field "1,61": "61" is out of range 0-59"#),
        InvalidCase(expression: "0-61 * * * *", field: "minute", message: #"minute field "0-61": "61" is out of range 0-59"#),
        InvalidCase(expression: "*/90 * * * *", field: "minute", message: #"minute field "*/90" has step 90, more than the 60"#),
        InvalidCase(expression: "*/x * * * *", field: "minute", message: #"step "x" that is not a number"#),
        InvalidCase(expression: "-5 * * * *", field: "minute", message: #"minute field "-5" is not a valid range"#),
        InvalidCase(expression: "1-2-3 * * * *", field: "minute", message: "is not a valid range"),
        InvalidCase(expression: "1/2/3 * * * *", field: "minute", message: "is not a value, a range or a step"),
        InvalidCase(expression: "+5 * * * *", field: "minute", message: #"minute field "+5" is not a number"#),
        InvalidCase(expression: "MON * * * *", field: "minute", message: #"minute field "MON" is not a number"#),
        InvalidCase(expression: "* * * * MON-FOO", field: "day-of-week", message: #""FOO" is not a number or a day name"#),
        InvalidCase(expression: "* * * * SAT-MON", field: "day-of-week", message: "SAT comes after MON"),
        InvalidCase(expression: "* * * * 5-0", field: "day-of-week", message: "is a reversed range"),
        InvalidCase(expression: "0 0 30 2 *", field: "day-of-month", message: #""30" never occurs in month field "2""#),
        InvalidCase(expression: "0 0 31 4,6,9,11 *", field: "day-of-month", message: "never occurs"),
        InvalidCase(expression: "@daily 5", field: "macro", message: "takes nothing after it"),
        InvalidCase(expression: "@every", field: "interval", message: "@every needs an interval"),
        InvalidCase(expression: "@every 5x", field: "interval", message: #"interval "5x" is not a duration"#),
        InvalidCase(expression: "@every 1h 30m", field: "interval", message: "one interval without spaces"),
        InvalidCase(expression: "@every 99999999999999999h", field: "interval", message: "is not a duration"),
    ])
    func rejectsInvalidExpressions(_ c: InvalidCase) {
        do {
            let schedule = try CronSchedule(parsing: c.expression)
            Issue.record("parsed \"\(c.expression)\" as \(schedule)")
        } catch {
            #expect(error.code == .invalidSchedule)
            #expect(error.code.rawValue == "invalid_schedule")
            #expect(error.message.hasPrefix("invalid schedule \"\(c.expression)\": "))
            #expect(error.message.contains(c.message), "\(error.message)")
            #expect(error.context == ["schedule": c.expression, "field": c.field])
        }
    }

    @Test func leapDayAloneIsAccepted() throws {
        // The 29th of February is rare, not impossible; only days no month in the field has are refused.
        _ = try CronSchedule(parsing: "0 0 29 2 *")
        _ = try CronSchedule(parsing: "0 0 31 1-3 *")
        // With a day of week, the days add up, so February 30 plus Mondays still fires.
        #expect(try next("0 0 30 2 MON", after: "2025-02-01T00:00:00Z") == utc("2025-02-03T00:00:00Z"))
    }

    static func weekday(_ date: Date) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        return calendar.component(.weekday, from: date)
    }
}
