import CHostSupport

#if canImport(Glibc)
import Glibc
#endif

/// An operating-system thread of its own, outside Swift's concurrency pool, for work that blocks
/// in a system call for long (`poll(2)` on inotify, `readLine()` on a pipe) or that must outlive
/// the pool's idle threads (the parent thread of subprocess children).
///
/// The host uses pthreads directly rather than Foundation's `Thread`, so that the host process
/// needs FoundationEssentials only: Foundation proper costs several MiB of resident memory in
/// every process that links it.
enum OSThread {
    private final class Start {
        let name: String
        let body: () -> Void
        init(_ name: String, _ body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Runs `body` on a new detached thread named `name` (at most 15 bytes are kept).
    static func detach(name: String, _ body: @escaping @Sendable () -> Void) {
        let start = Unmanaged.passRetained(Start(name, body)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { raw in
                let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
                _ = easyjobs_set_thread_name(start.name)
                start.body()
                return nil
            }, start)
        precondition(created == 0, "pthread_create failed: \(created)")
        pthread_detach(thread)
    }
}

/// A mutex with a condition variable (pthreads), for a thread that sleeps until it has work.
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Waits for `signal()`; the lock must be held, and is held again on return.
    func wait() { pthread_cond_wait(condition, mutex) }
    func signal() { pthread_cond_signal(condition) }
}
