#if canImport(Glibc)
import Glibc
#endif

/// The seed sleeps 5 seconds per step; `EASYJOBS_ETL_SLEEP` (seconds) shortens it for tests.
enum ETLTiming {
    static let seconds: Double = {
        guard let raw = getenv("EASYJOBS_ETL_SLEEP"), let value = Double(String(cString: raw)), value >= 0 else {
            return 5
        }
        return value
    }()

    static var step: Duration { .milliseconds(Int(seconds * 1000)) }

    static func blockingSleep() {
        usleep(UInt32(seconds * 1_000_000))
    }
}

extension Double {
    /// `5` rather than `5.0`, as the seed prints it.
    var formatted: String {
        self == rounded() ? String(Int(self)) : String(self)
    }
}
