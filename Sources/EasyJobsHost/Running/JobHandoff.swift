import EasyJobsCore
import Synchronization

/// Claimed jobs on their way to the loop that starts them, from the claim poll and from the
/// reporter (whose reports claim the next jobs for the slots of the runs they report).
///
/// Both arrive with their slots already taken from ``Capacity``; a batch that comes after the
/// host stopped starting jobs is refused, and its sender hands the jobs back to the manager.
final class JobHandoff: Sendable {
    let batches: AsyncStream<[ClaimedJob]>
    private let continuation: AsyncStream<[ClaimedJob]>.Continuation
    private let open = Atomic<Bool>(true)

    /// Whether jobs still start here; a report claims only while they do.
    var isOpen: Bool { open.load(ordering: .relaxed) }

    init() {
        (batches, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Passes jobs on to be started; `false` once ``close()`` was called.
    func deliver(_ jobs: [ClaimedJob]) -> Bool {
        guard !jobs.isEmpty else { return true }
        if case .terminated = continuation.yield(jobs) { return false }
        return true
    }

    /// No more jobs start: the host stops claiming. What was delivered before is still started.
    func close() {
        open.store(false, ordering: .relaxed)
        continuation.finish()
    }
}
