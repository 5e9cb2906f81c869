import ServiceLifecycle

/// The one shape of the manager's long polls (claims, awaited jobs, a host's events): look; if
/// there is nothing to answer yet, wait for a wake-up from the `JobNotifier`, at most a slice at
/// a time, and look again, until the deadline.
///
/// The version is read before each look, so a change between the look and the wait is never
/// missed. Waiting in slices means a poll whose client went away, or a manager that is
/// stopping, gives up within one slice; such a poll looks no more (a claim for a client that
/// is gone would take jobs for nobody).
struct LongPoll: Sendable {
    let deadline: ContinuousClock.Instant
    let isClientConnected: @Sendable () -> Bool

    /// Long polls wait in slices of this.
    static let slice = Duration.milliseconds(500)

    /// `wait` seconds as the client asked (the wire carries seconds), at most `maxWait`; a wait
    /// that is not a number is none.
    init(wait: Double, maxWait: Duration, isClientConnected: @escaping @Sendable () -> Bool) {
        let seconds = wait.isNaN ? 0 : min(max(wait, 0), maxWait.inSeconds)
        deadline = ContinuousClock.now + .seconds(seconds)
        self.isClientConnected = isClientConnected
    }

    /// Whether the poll may go on: its task is not cancelled, the manager is not stopping, and
    /// its client is still there.
    var mayGoOn: Bool {
        !Task.isCancelled && !Task.isShuttingDownGracefully && isClientConnected()
    }

    /// The first answer `look` gives, or `nil` once the poll may not go on. `look` is told when it
    /// looks for the last time (the deadline has passed): then it answers with what there is.
    func run<Answer>(
        version: () -> UInt64,
        look: (_ isLast: Bool) async throws -> Answer?,
        wait: @escaping @Sendable (_ after: UInt64, _ timeout: Duration) async -> Void
    ) async throws -> Answer? {
        while mayGoOn {
            let seen = version()
            let remaining = deadline - .now
            if let answer = try await look(remaining <= .zero) { return answer }
            if remaining <= .zero { return nil }
            await cancelWhenGracefulShutdown { await wait(seen, min(remaining, Self.slice)) }
        }
        return nil
    }
}
