import Logging

/// What every run of this host shares.
struct RunContext: Sendable {
    let plugins: PluginCatalog
    let queue: String
    let running: RunningJobs
    let reporter: Reporter
    let shipper: LogShipper
    let capacity: Capacity
    /// Claimed jobs on their way to be started.
    let handoff: JobHandoff
    /// Idle subprocess children, per plugin version.
    let children: ChildPool
    /// The manager's lease, in seconds.
    let leaseSeconds: Double
    let logger: Logger

    /// How long after a renewal was sent a run may go on without the next one: the lease less a
    /// margin, so a run stops before the manager can hand its job to another host.
    static func margin(lease: Double) -> Duration {
        .seconds(lease) - lossMargin(lease: lease)
    }

    /// What is taken off a lease: a tenth of it, at most a second.
    static func lossMargin(lease: Double) -> Duration {
        .seconds(min(1, lease * 0.1))
    }

    var leaseMarginLoss: Duration { Self.lossMargin(lease: leaseSeconds) }
}
