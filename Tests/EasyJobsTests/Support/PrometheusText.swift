/// Reads series out of the manager's `/metrics` text, for tests that count what happened.
enum PrometheusText {
    /// The value of one series (name with its labels, as printed), or 0 when it is absent.
    static func value(_ series: String, in text: String) -> Double {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }
}
