import EasyJobsCore
import EasyJobsStore
import Foundation
import PostgresNIO

/// What one manager's changes mean to the others, through LISTEN/NOTIFY: a host's long poll
/// on one manager wakes within milliseconds of an enqueue on another.
///
/// Each changing transaction sends its events with `pg_notify` before it commits; PostgreSQL
/// delivers them at commit, so no manager hears of a change it cannot yet read.
extension PostgresJobStore: StoreEventSource {
    static let eventChannel = "easyjobs_events"

    /// Listens on a connection of the pool for as long as the stream is consumed, connecting
    /// again after a lost connection. After every (re)connection it yields ``StoreEvent/hostsChanged``,
    /// so the consumer re-reads what it may have missed meanwhile.
    public func events() -> AsyncStream<StoreEvent> {
        AsyncStream { continuation in
            let task = Task {
                var failures = 0
                while !Task.isCancelled {
                    do {
                        try await client.withConnection { connection in
                            try await connection.listen(on: Self.eventChannel) { notifications in
                                continuation.yield(.hostsChanged)
                                for try await notification in notifications {
                                    for event in Self.decodeEvents(notification.payload) { continuation.yield(event) }
                                }
                            }
                        }
                        failures = 0
                    } catch {
                        if Task.isCancelled { break }
                        failures += 1
                        logger.warning(
                            "lost the store's event connection; listening again", metadata: ["error": "\(String(describing: type(of: error)))"])
                    }
                    // A backoff, so a server that is down is not hammered; the managers' periodic looks cover the gap.
                    try? await Task.sleep(for: .milliseconds(min(100 << min(failures, 6), 5_000)))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Sends `events` to every listening manager when the transaction of `connection` commits.
    static func notify(_ events: [StoreEvent], _ connection: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else { return }
        // A payload holds at most 8000 bytes: the lines go in as many notifications as they need.
        var payloads: [String] = []
        var current = ""
        for line in Set(events).map(encode) {
            if !current.isEmpty && current.utf8.count + line.utf8.count + 1 > 7_000 {
                payloads.append(current)
                current = ""
            }
            current += current.isEmpty ? line : "\n" + line
        }
        payloads.append(current)
        _ = try await connection.query(
            "SELECT pg_notify(\(eventChannel), payload) FROM unnest(\(payloads)::text[]) AS payload", logger: logger
        ).collect()
    }

    /// Sends `events` at once, after a change that committed on its own.
    func notifyNow(_ events: [StoreEvent]) async throws {
        try await withConnection("notify other managers") { connection in
            try await Self.notify(events, connection, logger: self.logger)
        }
    }

    /// The events a set of transitions means: work for the queues that gained it, ends.
    /// New work in `taken` (claimed in the same transaction) is no news.
    static func events(of transitions: JobTransitions, taken: Set<String> = []) -> [StoreEvent] {
        transitions.queuesWithNewWork(except: taken).map(StoreEvent.workArrived) + transitions.finished.map { .jobFinished(id: $0.id) }
    }

    static func events(ofNew jobs: [NewJob]) -> [StoreEvent] {
        Set(jobs.filter { $0.status == .queued }.map(\.queue)).map(StoreEvent.workArrived)
            + jobs.filter { $0.status == .failed }.map { .jobFinished(id: $0.id) }
    }

    static func encode(_ event: StoreEvent) -> String {
        switch event {
        case .workArrived(let queue): "w\t" + queue
        case .jobFinished(let id): "f\t" + id
        case .cancelRequested(let hostID): "c\t" + hostID
        case .hostsChanged: "h"
        case .pausesChanged: "p"
        }
    }

    /// Lines this version does not know (a newer manager's) are ignored.
    static func decodeEvents(_ payload: String) -> [StoreEvent] {
        payload.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            switch (parts.first, parts.count) {
            case ("w", 2): return .workArrived(queue: parts[1])
            case ("f", 2): return .jobFinished(id: parts[1])
            case ("c", 2): return .cancelRequested(hostID: parts[1])
            case ("h", 1): return .hostsChanged
            case ("p", 1): return .pausesChanged
            default: return nil
            }
        }
    }
}

/// The secrets every manager of the database shares.
extension PostgresJobStore: SharedKeyStore {
    public func sharedKey(named name: String, proposed: Data) async throws -> Data {
        // Of managers racing, the first insert wins; the others' no-op update returns its value.
        let rows = try await query(
            "read a shared key", context: ["key": name],
            """
            INSERT INTO shared_keys (name, value) VALUES (\(name), \(proposed.base64EncodedString()))
            ON CONFLICT (name) DO UPDATE SET name = excluded.name
            RETURNING value
            """)
        guard let row = rows.first, let value = Data(base64Encoded: try Columns(row)["value"] as String) else {
            throw EasyJobsError(.storeFailure, "Could not read the shared key '\(name)': it is not base64", context: ["key": name])
        }
        return value
    }
}
