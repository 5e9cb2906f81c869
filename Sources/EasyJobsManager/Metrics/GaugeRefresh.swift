import Synchronization

/// When the scrape of `/metrics` counts the queues again for its gauges: at most once per
/// interval, whichever scrape comes first; the others answer the gauges as last counted.
final class GaugeRefresh: Sendable {
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    /// Whether a scrape now should count again; if so, the interval starts over from now.
    func isDue(every interval: Duration, now: ContinuousClock.Instant = .now) -> Bool {
        last.withLock { last in
            if let previous = last, now - previous < interval { return false }
            last = now
            return true
        }
    }
}
