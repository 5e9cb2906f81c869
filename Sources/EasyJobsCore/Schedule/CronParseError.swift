extension EasyJobsError.Code {
    /// A task's `schedule` is not a cron expression, a macro or an `@every` interval.
    public static let invalidSchedule = Self(rawValue: "invalid_schedule")
}

extension EasyJobsError {
    /// The one shape of every schedule parse error, so that the message always quotes the whole
    /// expression first and the context always names the field for programs.
    static func invalidSchedule(_ expression: String, field: String, _ problem: String) -> EasyJobsError {
        EasyJobsError(
            .invalidSchedule, "invalid schedule \"\(expression)\": \(problem)",
            context: ["schedule": expression, "field": field])
    }
}
