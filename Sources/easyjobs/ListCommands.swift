import EasyJobsHostCLI
import ArgumentParser
import EasyJobsClient
import EasyJobsCore
import Foundation

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jobs", abstract: "List jobs, newest first.")

    @Option(help: "Only this queue.") var queue: String?
    @Option(help: "Only this task.") var task: String?
    @Option(help: "Only this status.") var status: String?
    @Option(help: "At most this many.") var limit = 50
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        do {
            let list = try await flags.client().list(queue: queue, task: task, status: status, limit: limit)
            if json { return try printJSON(list) }
            var table = Table(header: ["JOB", "QUEUE", "TASK", "STATUS", "ATTEMPTS", "HOST", "CREATED"])
            for job in list.jobs {
                table.rows.append([
                    job.requestID, job.queue, job.task, Table.status(job.status), "\(job.attempts)", job.host ?? "",
                    WireCoding.format(job.createdAt),
                ])
            }
            print(table.render())
        } catch {
            fail(error)
        }
    }
}

struct HostsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hosts", abstract: "List hosts.")

    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        do {
            let hosts = try await flags.client().hosts()
            if json { return try printJSON(hosts) }
            var table = Table(header: ["NAME", "QUEUES", "STATE", "MAX TASKS", "PLUGINS", "LAST HEARTBEAT"])
            for host in hosts {
                let state = (host.online ? "online" : "offline") + (host.paused ? ", paused" : "")
                table.rows.append([
                    host.name, host.servedQueues.map(\.description).joined(separator: ","), state, "\(host.maxTasks)",
                    host.plugins.map { "\($0.name) \($0.version)" }.joined(separator: ", "),
                    WireCoding.format(host.lastHeartbeat),
                ])
            }
            print(table.render())
        } catch {
            fail(error)
        }
    }
}

struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tasks", abstract: "List registered tasks with their signatures.")

    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        do {
            let queues = try await flags.client().tasks()
            if json { return try printJSON(queues) }
            var table = Table(header: ["QUEUE", "TASK", "RETRIES", "SCHEDULE"])
            for queue in queues {
                for task in queue.tasks {
                    table.rows.append([queue.queue, task.signature, task.options.retryPolicy.rawValue, task.options.schedule ?? ""])
                }
            }
            print(table.render())
        } catch {
            fail(error)
        }
    }
}

struct RetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retry", abstract: "Run a failed or cancelled job again; prints the new request id.")

    @Argument(help: "The request id.") var id: String
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        do {
            print(try await flags.client().retry(id: id))
        } catch {
            fail(error)
        }
    }
}
