import ArgumentParser
import EasyJobsClient
import EasyJobsCore
import EasyJobsHostCLI
import Foundation

/// Dead jobs (failed for good, expired; cancelled when asked for) in bulk.
struct DeadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead", abstract: "List, retry or discard dead jobs (failed or expired) in bulk.",
        subcommands: [DeadListCommand.self, DeadRetryCommand.self, DeadDiscardCommand.self], defaultSubcommand: DeadListCommand.self)
}

/// Which dead jobs a command takes.
struct DeadFilterFlags: ParsableArguments {
    @Option(help: "Only this queue.") var queue: String?
    @Option(help: "Only this task.") var task: String?
    @Option(help: "Statuses among failed, expired, cancelled, comma separated (default failed,expired).") var status: String?
    @Option(help: "Only jobs that ended before this time (ISO 8601 in UTC).") var before: String?
    @Option(help: "At most this many (default 1000).") var limit: Int?

    func statuses() throws -> [JobStatus] {
        guard let status else { return [] }
        return try status.split(separator: ",").map { name in
            guard let status = JobStatus(rawValue: String(name)), DeadJobStatuses.all.contains(status) else {
                throw ValidationError("--status takes failed, expired or cancelled, got '\(name)'")
            }
            return status
        }
    }

    func beforeDate() throws -> Date? {
        guard let before else { return nil }
        guard let date = WireCoding.parse(before) else { throw ValidationError("--before must be an ISO 8601 time in UTC, got '\(before)'") }
        return date
    }
}

enum DeadJobStatuses {
    static let all: Set<JobStatus> = [.failed, .expired, .cancelled]
}

struct DeadListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List dead jobs, newest first.")
    @OptionGroup var filter: DeadFilterFlags
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        let statuses = try filter.statuses()
        do {
            let list = try await flags.client().list(
                queue: filter.queue, task: filter.task,
                status: (statuses.isEmpty ? [.failed, .expired] : statuses).map(\.rawValue).joined(separator: ","),
                limit: min(filter.limit ?? 100, 1000))
            if json { return try printJSON(list) }
            var table = Table(header: ["JOB", "QUEUE", "TASK", "STATUS", "ATTEMPTS", "FINISHED", "ERROR"])
            for job in list.jobs {
                table.rows.append([
                    job.requestID, job.queue, job.task, Table.status(job.status), "\(job.attempts)", job.finishedAt.map(WireCoding.format) ?? "",
                    String((job.error ?? "").prefix(60)),
                ])
            }
            print(table.render())
        } catch {
            fail(error)
        }
    }
}

struct DeadRetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Queue dead jobs again, each under its own request id; prints how many and their ids.")
    @OptionGroup var filter: DeadFilterFlags
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        let statuses = try filter.statuses()
        let before = try filter.beforeDate()
        do {
            let ids = try await flags.client().retryDead(
                queue: filter.queue, task: filter.task, statuses: statuses, before: before, limit: filter.limit)
            print("retried \(ids.count)")
            for id in ids { print(id) }
        } catch {
            fail(error)
        }
    }
}

struct DeadDiscardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "discard", abstract: "Delete dead jobs and their logs; prints how many.")
    @OptionGroup var filter: DeadFilterFlags
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        let statuses = try filter.statuses()
        let before = try filter.beforeDate()
        do {
            let count = try await flags.client().discardDead(
                queue: filter.queue, task: filter.task, statuses: statuses, before: before, limit: filter.limit)
            print("discarded \(count)")
        } catch {
            fail(error)
        }
    }
}
