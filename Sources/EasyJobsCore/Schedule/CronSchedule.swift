#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// When a scheduled task runs: a five-field cron expression, a macro such as `@daily`, or a
/// fixed interval such as `@every 90m`.
///
/// ```swift
/// let schedule = try CronSchedule(parsing: "0 9 * * MON-FRI")  // 09:00 UTC on weekdays
/// let next = schedule.nextFire(after: .now)
/// let missed = schedule.fires(between: lastRun, and: .now, limit: 10)  // catch-up after downtime
/// ```
///
/// The fields are minute (0-59), hour (0-23), day of month (1-31), month (1-12 or JAN-DEC) and
/// day of week (0-7 or SUN-SAT, where 0 and 7 are both Sunday). Each field is `*`, a value, a
/// range `1-5`, a step `*/15`, `1-30/5` or `5/10` (from 5 to the end), or a list of these.
///
/// As in Vixie cron, when both the day of month and the day of week are restricted (neither is
/// `*`), a day matches if *either* matches: `0 0 13 * FRI` fires on every 13th and every Friday.
///
/// Cron fields are wall-clock times in `timeZone`. Across a daylight-saving change, a time in
/// the skipped hour fires at the instant the calendar maps it to, and a time in the repeated
/// hour fires once. `@every` intervals ignore the time zone: they are aligned to the Unix epoch,
/// so every manager computes the same fire times without coordinating.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    /// The expression as it was given, for display and storage.
    public let expression: String
    /// The zone in which the cron fields are read.
    public let timeZone: TimeZone
    private let rule: Rule
    /// Kept rather than rebuilt because every `nextFire` needs it.
    private let calendar: Calendar

    private enum Rule: Sendable {
        case fields(CronFields)
        /// Microseconds: the finest step that survives the round trip through `Date`'s `Double`.
        case every(microseconds: Int64)
    }

    /// Parses a cron expression, a macro (`@yearly`, `@annually`, `@monthly`, `@weekly`,
    /// `@daily`, `@midnight`, `@hourly`) or `@every <duration>` (e.g. `@every 1h30m`,
    /// `@every 500ms`; units `h`, `m`, `s`, `ms`).
    ///
    /// - Throws: `EasyJobsError` with code `invalidSchedule`, a message naming the bad field, and
    ///   context `["schedule": expression, "field": <field name>]`. Expressions that can never
    ///   fire, such as `0 0 30 2 *`, are refused here rather than found out at run time.
    public init(parsing expression: String, timeZone: TimeZone = .gmt) throws(EasyJobsError) {
        self.expression = expression
        self.timeZone = timeZone
        self.rule = try Self.parse(expression)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    public var description: String { expression }

    /// The fixed interval of an `@every` schedule; nil for cron fields and macros.
    public var interval: Duration? {
        guard case .every(let microseconds) = rule else { return nil }
        return .microseconds(microseconds)
    }

    /// The first fire time strictly after `date`. Cron schedules fire on whole minutes.
    ///
    /// Returns nil only when `date` is so far out that no fire time can be represented.
    public func nextFire(after date: Date) -> Date? {
        switch rule {
        case .every(let microseconds): Self.nextMultiple(of: microseconds, after: date)
        case .fields(let fields): nextFire(of: fields, after: date)
        }
    }

    /// The fire times in `(start, end]`, earliest first, at most `limit` of them; what a manager
    /// replays after downtime.
    public func fires(between start: Date, and end: Date, limit: Int) -> [Date] {
        var fires: [Date] = []
        guard limit > 0 else { return fires }
        var cursor = start
        // `next > cursor` is a backstop: a time that failed to move on would repeat until the limit.
        while fires.count < limit, let next = nextFire(after: cursor), next <= end, next > cursor {
            fires.append(next)
            cursor = next
        }
        return fires
    }

    /// Whether `date` is a fire time: on a matching whole minute for cron fields, on a multiple
    /// of the interval for `@every`.
    public func matches(_ date: Date) -> Bool {
        switch rule {
        case .every(let microseconds):
            guard let micros = Self.microsecondsSince1970(date) else { return false }
            return micros % microseconds == 0
        case .fields(let fields):
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
            guard let year = parts.year, let month = parts.month, let day = parts.day,
                let hour = parts.hour, let minute = parts.minute,
                // Rebuilding the whole minute is exact, where reading seconds back from a `Double` is not.
                calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute)) == date
            else { return false }
            return fields.months.contains(month) && fields.hours.contains(hour) && fields.minutes.contains(minute)
                && fields.dayMatches(day: day, weekday: CivilDate.weekday(year: year, month: month, day: day))
        }
    }

    // The expression says what the schedule is; the calendar only follows from the time zone.
    public static func == (lhs: CronSchedule, rhs: CronSchedule) -> Bool {
        lhs.expression == rhs.expression && lhs.timeZone == rhs.timeZone
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(expression)
        hasher.combine(timeZone)
    }
}

// MARK: - Next fire time

extension CronSchedule {
    /// How far ahead to look: the rarest schedule that parses, the 29th of February, can be eight
    /// years away (2096 to 2104, as 2100 is not a leap year).
    private static let searchYears = 8

    private func nextFire(of fields: CronFields, after date: Date) -> Date? {
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        guard let year = parts.year, let month = parts.month, let day = parts.day,
            let hour = parts.hour, let minute = parts.minute
        else { return nil }
        // Seconds are dropped, so the next whole minute is the first candidate even from hh:mm:00.
        var start = WallTime(year: year, month: month, day: day, hour: hour, minute: minute + 1)
        let lastYear = year + Self.searchYears
        // The search runs on wall-clock values; only a time that DST repeats can map to an instant
        // not after `date`, and then the search goes on from the next wall-clock minute.
        while let match = fields.firstMatch(from: start, throughYear: lastYear) {
            let wanted = DateComponents(
                year: match.year, month: match.month, day: match.day, hour: match.hour, minute: match.minute, second: 0)
            guard let fire = calendar.date(from: wanted) else { return nil }
            if fire > date { return fire }
            start = match
            start.minute += 1
        }
        return nil
    }

    private static func nextMultiple(of step: Int64, after date: Date) -> Date? {
        guard let micros = microsecondsSince1970(date) else { return nil }
        var count = micros / step
        if micros % step != 0, micros < 0 { count -= 1 }  // floor, not truncation, before 1970
        let (next, overflow) = (count + 1).multipliedReportingOverflow(by: step)
        guard !overflow else { return nil }
        return Date(timeIntervalSince1970: Double(next) / 1_000_000)
    }

    /// Rounded to the microsecond so that a fire time we returned comes back as exactly that
    /// multiple, although `Date` stores it as a slightly inexact `Double`.
    private static func microsecondsSince1970(_ date: Date) -> Int64? {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard micros.magnitude < 9e18 else { return nil }  // also refuses NaN
        return Int64(micros)
    }
}

/// A local date and time to the minute; fields may overflow by one (minute 60, hour 24, …) and
/// the search carries them over.
private struct WallTime {
    var year, month, day, hour, minute: Int
}

/// The parsed cron fields, one bit per allowed value.
private struct CronFields: Sendable {
    var minutes: ValueSet
    var hours: ValueSet
    var daysOfMonth: ValueSet
    var months: ValueSet
    /// Sunday is 0 only; a 7 in the expression is folded into it.
    var daysOfWeek: ValueSet
    var dayOfMonthIsWildcard: Bool
    var dayOfWeekIsWildcard: Bool

    func dayMatches(day: Int, weekday: Int) -> Bool {
        if dayOfWeekIsWildcard { return daysOfMonth.contains(day) }
        if dayOfMonthIsWildcard { return daysOfWeek.contains(weekday) }
        return daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
    }

    /// The earliest matching wall time at or after `start`. Each level jumps straight to its next
    /// allowed value and resets the finer ones, so a year costs at most a few hundred steps.
    func firstMatch(from start: WallTime, throughYear lastYear: Int) -> WallTime? {
        var t = start
        while t.year <= lastYear {
            guard let month = months.first(from: t.month) else {
                t = WallTime(year: t.year + 1, month: 1, day: 1, hour: 0, minute: 0)
                continue
            }
            if month != t.month { t = WallTime(year: t.year, month: month, day: 1, hour: 0, minute: 0) }
            guard let day = firstDay(year: t.year, month: t.month, from: t.day) else {
                t = WallTime(year: t.year, month: t.month + 1, day: 1, hour: 0, minute: 0)
                continue
            }
            if day != t.day { t = WallTime(year: t.year, month: t.month, day: day, hour: 0, minute: 0) }
            guard let hour = hours.first(from: t.hour) else {
                t = WallTime(year: t.year, month: t.month, day: t.day + 1, hour: 0, minute: 0)
                continue
            }
            if hour != t.hour { t = WallTime(year: t.year, month: t.month, day: t.day, hour: hour, minute: 0) }
            guard let minute = minutes.first(from: t.minute) else {
                t = WallTime(year: t.year, month: t.month, day: t.day, hour: t.hour + 1, minute: 0)
                continue
            }
            t.minute = minute
            return t
        }
        return nil
    }

    private func firstDay(year: Int, month: Int, from day: Int) -> Int? {
        let last = CivilDate.daysIn(year: year, month: month)
        guard day <= last else { return nil }
        var weekday = CivilDate.weekday(year: year, month: month, day: day)
        for candidate in day...last {
            if dayMatches(day: candidate, weekday: weekday) { return candidate }
            weekday = (weekday + 1) % 7
        }
        return nil
    }
}

/// A set of small non-negative integers (0-63), enough for every cron field.
private struct ValueSet: Sendable {
    private(set) var bits: UInt64 = 0

    func contains(_ value: Int) -> Bool { value >= 0 && value < 64 && bits & (1 << UInt64(value)) != 0 }

    mutating func insert(_ value: Int) { bits |= 1 << UInt64(value) }
    mutating func remove(_ value: Int) { bits &= ~(1 << UInt64(value)) }

    /// The smallest member that is at least `value`.
    func first(from value: Int) -> Int? {
        guard value < 64 else { return nil }
        let rest = bits & (~0 << UInt64(max(value, 0)))
        return rest == 0 ? nil : rest.trailingZeroBitCount
    }

    var isEmpty: Bool { bits == 0 }
}

/// Proleptic Gregorian arithmetic on wall-clock dates; faster than `Calendar` and, working on
/// local values, free of time zones.
private enum CivilDate {
    static let maximumDays = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(year: Int, month: Int) -> Int {
        month == 2 && !isLeap(year) ? 28 : maximumDays[month - 1]
    }

    /// 0 is Sunday, as in cron.
    static func weekday(year: Int, month: Int, day: Int) -> Int {
        // Howard Hinnant's days_from_civil; day 0 (1970-01-01) was a Thursday.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return ((days % 7) + 7 + 4) % 7
    }
}

// MARK: - Parsing

extension CronSchedule {
    private static let fieldList = "minute hour day-of-month month day-of-week"

    private static func parse(_ expression: String) throws(EasyJobsError) -> Rule {
        let tokens = expression.split(whereSeparator: \.isWhitespace)
        if let first = tokens.first, first.hasPrefix("@") {
            return try parseMacro(first, arguments: tokens.dropFirst(), expression: expression)
        }
        guard tokens.count == 5 else {
            throw .invalidSchedule(
                expression, field: "expression",
                "expected 5 fields (\(fieldList)) or a macro, got \(tokens.count)")
        }
        let parser = FieldParser(expression: expression)
        let minutes = try parser.parse(tokens[0], as: .minute)
        let hours = try parser.parse(tokens[1], as: .hour)
        let daysOfMonth = try parser.parse(tokens[2], as: .dayOfMonth)
        let months = try parser.parse(tokens[3], as: .month)
        var daysOfWeek = try parser.parse(tokens[4], as: .dayOfWeek)
        if daysOfWeek.values.contains(7) {
            daysOfWeek.values.remove(7)
            daysOfWeek.values.insert(0)
        }
        let fields = CronFields(
            minutes: minutes.values, hours: hours.values, daysOfMonth: daysOfMonth.values, months: months.values,
            daysOfWeek: daysOfWeek.values, dayOfMonthIsWildcard: daysOfMonth.isWildcard,
            dayOfWeekIsWildcard: daysOfWeek.isWildcard)
        // Only the day of month alone can make a schedule that never fires (30 February); with a
        // day of week besides, the days add up instead.
        if fields.dayOfWeekIsWildcard, !fields.dayOfMonthIsWildcard {
            let firstDay = fields.daysOfMonth.first(from: 1) ?? 32
            let possible = (1...12).contains { fields.months.contains($0) && firstDay <= CivilDate.maximumDays[$0 - 1] }
            if !possible {
                throw .invalidSchedule(
                    expression, field: "day-of-month",
                    "day-of-month field \"\(tokens[2])\" never occurs in month field \"\(tokens[3])\"")
            }
        }
        return .fields(fields)
    }

    private static func parseMacro(
        _ name: Substring, arguments: ArraySlice<Substring>, expression: String
    ) throws(EasyJobsError) -> Rule {
        let lowered = name.lowercased()
        if lowered == "@every" {
            return try parseEvery(arguments, expression: expression)
        }
        let equivalent: String
        switch lowered {
        case "@yearly", "@annually": equivalent = "0 0 1 1 *"
        case "@monthly": equivalent = "0 0 1 * *"
        case "@weekly": equivalent = "0 0 * * 0"
        case "@daily", "@midnight": equivalent = "0 0 * * *"
        case "@hourly": equivalent = "0 * * * *"
        default:
            throw .invalidSchedule(
                expression, field: "macro",
                "unknown macro \"\(name)\"; expected @yearly, @annually, @monthly, @weekly, @daily, @midnight, "
                    + "@hourly, @every <duration>, or 5 fields (\(fieldList))")
        }
        guard arguments.isEmpty else {
            throw .invalidSchedule(
                expression, field: "macro",
                "macro \(name) takes nothing after it, got \"\(arguments.joined(separator: " "))\"")
        }
        do {
            return try parse(equivalent)
        } catch {
            preconditionFailure("the macro \(name) expands to an invalid expression: \(error)")
        }
    }

    private static func parseEvery(_ arguments: ArraySlice<Substring>, expression: String) throws(EasyJobsError) -> Rule {
        guard let text = arguments.first else {
            throw .invalidSchedule(expression, field: "interval", "@every needs an interval, e.g. @every 5m")
        }
        guard arguments.count == 1 else {
            throw .invalidSchedule(
                expression, field: "interval",
                "@every takes one interval without spaces (e.g. 1h30m), got \"\(arguments.joined(separator: " "))\"")
        }
        guard let milliseconds = parseMilliseconds(text) else {
            throw .invalidSchedule(
                expression, field: "interval",
                "interval \"\(text)\" is not a duration like 10s, 500ms, 5m or 1h30m (units h, m, s, ms)")
        }
        guard milliseconds > 0 else {
            throw .invalidSchedule(expression, field: "interval", "interval \"\(text)\" must be greater than zero")
        }
        return .every(microseconds: milliseconds * 1000)
    }

    /// Sums `<digits><unit>` parts; nil for anything else, or for more than about 290 years,
    /// which would overflow the microseconds the interval is kept in.
    private static func parseMilliseconds(_ text: Substring) -> Int64? {
        let units: [(suffix: String, milliseconds: Int64)] = [("ms", 1), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        let limit = Int64.max / 1000
        var rest = text.lowercased()[...]
        var total: Int64 = 0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, digits.count <= 18, let amount = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.suffix) }) else { return nil }
            rest = rest.dropFirst(unit.suffix.count)
            let (part, overflow) = amount.multipliedReportingOverflow(by: unit.milliseconds)
            guard !overflow, part <= limit - total else { return nil }
            total += part
        }
        return total
    }
}

/// One cron field's rules: its name in messages, its values, and the names it accepts.
private struct FieldKind {
    var name: String
    var range: ClosedRange<Int>
    /// The field's values are `names.indices` shifted by `range.lowerBound`.
    var names: [String] = []
    var nameHint: String = ""
    /// The largest sensible step: beyond it only the first value is left, which hides a mistake
    /// such as `*/90` meant as "every 90 minutes".
    var distinctValues: Int

    static let minute = FieldKind(name: "minute", range: 0...59, distinctValues: 60)
    static let hour = FieldKind(name: "hour", range: 0...23, distinctValues: 24)
    static let dayOfMonth = FieldKind(name: "day-of-month", range: 1...31, distinctValues: 31)
    static let month = FieldKind(
        name: "month", range: 1...12,
        names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
        nameHint: "a month name (JAN-DEC)", distinctValues: 12)
    static let dayOfWeek = FieldKind(
        name: "day-of-week", range: 0...7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
        nameHint: "a day name (SUN-SAT)", distinctValues: 7)

    var isDayOfWeek: Bool { name == FieldKind.dayOfWeek.name }
}

private struct FieldParser {
    var expression: String

    struct Parsed {
        var values: ValueSet
        /// Plain `*`: it takes no part in the day-of-month/day-of-week rule.
        var isWildcard: Bool
    }

    func parse(_ text: Substring, as kind: FieldKind) throws(EasyJobsError) -> Parsed {
        // Quotes the offending part too when it is not the whole field, so `1,61` points at `61`.
        func failure(_ part: Substring, _ problem: String) -> EasyJobsError {
            let subject = part == text ? "\(kind.name) field \"\(text)\"" : "\(kind.name) field \"\(text)\": \"\(part)\""
            return .invalidSchedule(expression, field: kind.name, "\(subject) \(problem)")
        }

        var values = ValueSet()
        var isWildcard = true
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw failure(text, "has an empty list item") }
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2 else {
                throw failure(item, "is not a value, a range or a step (start/step, start-end/step or */step)")
            }
            let base = stepParts[0]
            var step = 1
            if stepParts.count == 2 {
                let stepText = stepParts[1]
                guard !stepText.isEmpty, stepText.allSatisfy({ $0.isASCII && $0.isNumber }), stepText.count <= 9,
                    let parsed = Int(stepText)
                else { throw failure(item, "has a step \"\(stepText)\" that is not a number") }
                guard parsed >= 1 else { throw failure(item, "has step 0; the step must be at least 1") }
                guard parsed <= kind.distinctValues else {
                    throw failure(item, "has step \(parsed), more than the \(kind.distinctValues) values of the field")
                }
                step = parsed
            }

            let low: Int
            let high: Int
            if base == "*" {
                (low, high) = (kind.range.lowerBound, kind.range.upperBound)
            } else {
                isWildcard = false
                let ends = base.split(separator: "-", omittingEmptySubsequences: false)
                switch ends.count {
                case 1:
                    low = try value(ends[0], of: kind, failure)
                    // `5/10` runs from 5 to the end of the field, as in Vixie cron.
                    high = stepParts.count == 2 ? kind.range.upperBound : low
                case 2:
                    guard !ends[0].isEmpty, !ends[1].isEmpty else { throw failure(item, "is not a valid range") }
                    low = try value(ends[0], of: kind, failure)
                    var end = try value(ends[1], of: kind, failure)
                    // `FRI-SUN` reads naturally, so a range may end on Sunday as 7.
                    if kind.isDayOfWeek, end == 0, low > 0, ends[1].uppercased() == "SUN" { end = 7 }
                    guard low <= end else {
                        throw failure(item, "is a reversed range: \(ends[0]) comes after \(ends[1])")
                    }
                    high = end
                default:
                    throw failure(item, "is not a valid range")
                }
            }
            if step != 1 { isWildcard = false }
            for v in stride(from: low, through: high, by: step) { values.insert(v) }
        }
        return Parsed(values: values, isWildcard: isWildcard)
    }

    private func value(
        _ text: Substring, of kind: FieldKind, _ failure: (Substring, String) -> EasyJobsError
    ) throws(EasyJobsError) -> Int {
        let outOfRange = "is out of range \(kind.range.lowerBound)-\(kind.range.upperBound)"
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) {
            guard text.count <= 9, let number = Int(text), kind.range.contains(number) else {
                throw failure(text, outOfRange)
            }
            return number
        }
        if let index = kind.names.firstIndex(of: text.uppercased()) {
            return kind.range.lowerBound + index
        }
        let expected = kind.names.isEmpty ? "is not a number" : "is not a number or \(kind.nameHint)"
        throw failure(text, expected)
    }
}
