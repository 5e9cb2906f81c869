import EasyJobsCore
import Synchronization

/// How a host's claims share out among the queues it serves: smooth weighted round robin (as
/// nginx balances upstreams), so weights 3 and 1 take `a a b a  a a b a …`: the ratio holds over
/// every few jobs, never as long runs of one queue, and a queue that had no work banks no credit
/// to flood the host with later.
///
/// ```swift
/// var turns = QueueTurns()
/// turns.plan(4, over: [QueueWeight(name: "a", weight: 3), QueueWeight(name: "b")])
/// // [("a", 3), ("b", 1)]
/// ```
public struct QueueTurns: Sendable, Hashable {
    private var current: [String: Int] = [:]

    public init() {}

    /// Shares `slots` claims among `queues` (those open now), each queue once, in the order its
    /// first turn came up, and moves the turns on.
    public mutating func plan(_ slots: Int, over queues: [QueueWeight]) -> [(queue: String, count: Int)] {
        guard queues.count > 1 else { return queues.first.map { [($0.name, slots)] } ?? [] }
        let total = queues.reduce(0) { $0 + $1.weight }
        var order: [String] = []
        var counts: [String: Int] = [:]
        for _ in 0..<slots {
            var chosen = queues[0].name
            var best = Int.min
            for queue in queues {
                let value = current[queue.name, default: 0] + queue.weight
                current[queue.name] = value
                if value > best {
                    best = value
                    chosen = queue.name
                }
            }
            current[chosen, default: 0] -= total
            if counts[chosen] == nil { order.append(chosen) }
            counts[chosen, default: 0] += 1
        }
        return order.map { ($0, counts[$0]!) }
    }
}

/// Each host's ``QueueTurns``, kept by this manager (another manager of the store keeps its own:
/// shares hold per manager, which is what a host's claims see).
final class HostQueueTurns: Sendable {
    private let turns = Mutex<[String: QueueTurns]>([:])

    /// The plan of a claim; `commit` keeps its turns once the claim took jobs, so rounds of a
    /// long poll that found nothing do not move them.
    func plan(hostID: String, slots: Int, over queues: [QueueWeight]) -> (plan: [(queue: String, count: Int)], commit: @Sendable () -> Void) {
        // A host of one queue (nearly every host) has no turns to keep: no lock on its claims.
        guard queues.count > 1 else { return (queues.first.map { [($0.name, slots)] } ?? [], {}) }
        var next = turns.withLock { $0[hostID] ?? QueueTurns() }
        let plan = next.plan(slots, over: queues)
        let planned = next
        return (plan, { self.turns.withLock { $0[hostID] = planned } })
    }

    func forget(hostID: String) {
        _ = turns.withLock { $0.removeValue(forKey: hostID) }
    }
}
