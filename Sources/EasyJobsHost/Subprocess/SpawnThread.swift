#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// The one thread that starts subprocess children and looks after them.
///
/// A child asks for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`), and Linux means the
/// parent *thread*: the one that forked it. The threads of Swift's concurrency pool end after
/// a few idle seconds, which would kill a child waiting in the pool (or a long job) for no
/// reason. Children are started from this thread, which lives as long as the host, so that
/// only the host's death ends them.
final class SpawnThread: TaskExecutor, @unchecked Sendable {
    static let shared = SpawnThread()

    // Guarded by `condition`.
    private let condition = ConditionLock()
    private var jobs: [UnownedJob] = []

    private init() {
        OSThread.detach(name: "easyjobs-children") { [self] in run() }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}
