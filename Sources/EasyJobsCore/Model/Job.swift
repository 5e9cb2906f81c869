#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// A job as the store keeps it.
public struct Job: Codable, Sendable, Hashable {
    public var id: String
    public var queue: String
    public var task: String
    /// The bound keyword arguments (defaults filled in).
    public var args: [String: JSONValue]
    public var status: JobStatus
    /// Runs started so far, including the current one.
    public var attempts: Int
    public var result: JSONValue?
    public var error: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// The host holding the job while it runs.
    public var hostID: String?
    public var leaseExpiresAt: Date?
    /// Set once the result was pulled; a pulled result is no longer served.
    public var pulledAt: Date?
    public var origin: JobOrigin
    /// Runs allowed in all; `nil` means no limit (`retry_always`).
    public var maxAttempts: Int?
    /// A queued job is not claimed before this time: the `run_at` it was enqueued with (while it
    /// is `scheduled`), or its next try after a failure.
    public var runAt: Date?
    /// Higher runs first among a queue's ready jobs; equal priorities run oldest first.
    public var priority: Int
    /// A job not started by then ends `expired`.
    public var expiresAt: Date?
    /// How far its latest run got, from 0 to 1, as the task reported it (`context.progress`).
    public var progress: Double?
    public var progressMessage: String?
    /// Where the manager POSTs the outcome when the job ends.
    public var webhookURL: String?
    /// How many `run_before` jobs it waits for (or waited for).
    public var dependencies: Int
    /// Cancellation was asked for while the job ran; its host is stopping it.
    public var cancelRequested: Bool
    /// The plugin build that ran it last.
    public var plugin: PluginRef?
    /// For a job a schedule fired: the time it was fired for.
    public var scheduledFor: Date?
    /// The number of the latest lease (claim) of the job: the fencing token of its current run.
    /// Unlike `attempts` it never goes back, so an old run's number never matches again.
    public var lease: Int
    /// Runs that ended because their host stopped renewing the lease (died, hung, lost the network).
    public var lostLeases: Int

    public init(
        id: String, queue: String, task: String, args: [String: JSONValue], status: JobStatus = .queued,
        attempts: Int = 0, result: JSONValue? = nil, error: String? = nil, createdAt: Date,
        startedAt: Date? = nil, finishedAt: Date? = nil, hostID: String? = nil,
        leaseExpiresAt: Date? = nil, pulledAt: Date? = nil, origin: JobOrigin = .api, maxAttempts: Int? = 2,
        runAt: Date? = nil, dependencies: Int = 0, cancelRequested: Bool = false, plugin: PluginRef? = nil,
        scheduledFor: Date? = nil, lease: Int = 0, lostLeases: Int = 0, priority: Int = 0, expiresAt: Date? = nil
    ) {
        self.priority = priority
        self.expiresAt = expiresAt
        self.lease = lease
        self.lostLeases = lostLeases
        self.id = id
        self.queue = queue
        self.task = task
        self.args = args
        self.status = status
        self.attempts = attempts
        self.result = result
        self.error = error
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.hostID = hostID
        self.leaseExpiresAt = leaseExpiresAt
        self.pulledAt = pulledAt
        self.origin = origin
        self.maxAttempts = maxAttempts
        self.runAt = runAt
        self.dependencies = dependencies
        self.cancelRequested = cancelRequested
        self.plugin = plugin
        self.scheduledFor = scheduledFor
    }

    /// A new job id: a version 7 UUID in lowercase (RFC 9562), the creation time in
    /// milliseconds followed by 74 random bits.
    ///
    /// Time-ordered so that the store's index on ids grows at its end: with random (version 4)
    /// ids every enqueued job dirtied a page at a random place of that index, to be written to
    /// SQLite's WAL and copied back at a checkpoint: a third of the bytes the manager wrote in a
    /// batched run (505 against 350 MiB for 105,000 jobs). The random bits come from the kernel
    /// (`getentropy`, one `getrandom` call) because FoundationEssentials' `UUID()` opens, reads
    /// and closes `/dev/urandom` for every id.
    public static func newID(at date: Date = .now) -> String {
        let random = randomBits()
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000)) & 0xffff_ffff_ffff
        let high = milliseconds << 16 | 0x7000 | random.0 & 0x0fff
        let low = random.1 & 0x3fff_ffff_ffff_ffff | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { text in
            let digits: StaticString = "0123456789abcdef"
            var at = 0
            func write(_ value: UInt64, nibbles: Int) {
                for nibble in stride(from: nibbles - 1, through: 0, by: -1) {
                    text[at] = digits.utf8Start[Int(value >> UInt64(nibble * 4) & 0xf)]
                    at += 1
                }
            }
            write(high >> 32, nibbles: 8)
            text[at] = UInt8(ascii: "-")
            at += 1
            write(high >> 16 & 0xffff, nibbles: 4)
            text[at] = UInt8(ascii: "-")
            at += 1
            write(high & 0xffff, nibbles: 4)
            text[at] = UInt8(ascii: "-")
            at += 1
            write(low >> 48, nibbles: 4)
            text[at] = UInt8(ascii: "-")
            at += 1
            write(low & 0xffff_ffff_ffff, nibbles: 12)
            return at
        }
    }

    /// 128 random bits in one system call: `SystemRandomNumberGenerator` makes one per 64 bits,
    /// and an id is made for every enqueued job (1.8 % of a manager enqueuing batches).
    private static func randomBits() -> (UInt64, UInt64) {
        var bits: (UInt64, UInt64) = (0, 0)
        #if canImport(Glibc)
        if withUnsafeMutableBytes(of: &bits, { getentropy($0.baseAddress, $0.count) }) == 0 { return bits }
        #endif
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }
}

extension Job {
    /// Why a job that had not started by its deadline ended `expired`.
    public var expiryReason: String {
        "not started by its deadline \(expiresAt.map(WireCoding.format) ?? "") (it was \(status.rawValue))"
    }
}
