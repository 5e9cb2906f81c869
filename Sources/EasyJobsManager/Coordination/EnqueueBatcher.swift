import EasyJobsCore
import EasyJobsStore
import Synchronization

/// Group commit for enqueues: requests that arrive while a commit is in flight are stored
/// together in the next one. An enqueue on an idle manager commits at once, alone; under load
/// one transaction carries many jobs, which is what lets one SQLite file take thousands of
/// enqueues a second. Every caller is answered only after its job is committed.
final class EnqueueBatcher: Sendable {
    private struct Pending {
        /// Stored together: a job and the dependencies it waits for.
        let jobs: [NewJob]
        let continuation: CheckedContinuation<[String: Job], any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var flushing = false
    }

    private let state = Mutex(State())
    private let store: any JobStore
    private let maxBatch: Int

    init(store: any JobStore, maxBatch: Int = 512) {
        self.store = store
        self.maxBatch = maxBatch
    }

    /// Returns once `jobs` are committed, all in one transaction: the jobs of `jobs` that repeat
    /// stored ones (``JobStore/enqueue(_:)``), by id, with the jobs they repeat.
    @discardableResult
    func enqueue(_ jobs: [NewJob]) async throws -> [String: Job] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[String: Job], any Error>) in
            let startFlushing = state.withLock { state -> Bool in
                state.pending.append(Pending(jobs: jobs, continuation: continuation))
                guard !state.flushing else { return false }
                state.flushing = true
                return true
            }
            if startFlushing {
                Task { await self.flush() }
            }
        }
    }

    private func flush() async {
        while true {
            let batch: [Pending] = state.withLock { state in
                guard !state.pending.isEmpty else {
                    state.flushing = false
                    return []
                }
                let count = min(state.pending.count, maxBatch)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return batch
            }
            if batch.isEmpty { return }
            do {
                let matched = try await store.enqueue(batch.flatMap(\.jobs))
                for pending in batch { pending.continuation.resume(returning: matched) }
            } catch  where batch.count > 1 {
                // One request's refusal (a reused idempotency key) must not fail the others that
                // shared its transaction: each is stored again alone and hears its own answer.
                for pending in batch {
                    do {
                        pending.continuation.resume(returning: try await store.enqueue(pending.jobs))
                    } catch {
                        pending.continuation.resume(throwing: error)
                    }
                }
            } catch {
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }
}
