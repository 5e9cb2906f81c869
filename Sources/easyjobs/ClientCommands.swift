import EasyJobsHostCLI
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import EasyJobsClient
import EasyJobsCore
import Foundation

/// Where the client commands find the manager.
struct ClientFlags: ParsableArguments {
    @Option(help: "The manager's URL (EASYJOBS_MANAGER).") var manager: String?
    @Option(name: .customLong("api-token"), help: "API token (EASYJOBS_API_TOKEN).") var apiToken: String?

    func client() -> ManagerClient {
        ManagerClient(
            baseURL: manager ?? Environment.value("EASYJOBS_MANAGER") ?? "http://127.0.0.1:8220",
            apiToken: apiToken ?? Environment.value("EASYJOBS_API_TOKEN"))
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Enqueue a task; print its request id, or with --wait its result.")

    @Argument(help: "The queue.") var queue: String
    @Argument(help: "The task.") var task: String
    @Option(help: "The keyword arguments as a JSON object.") var json = "{}"
    @Flag(help: "Wait for the result and print it.") var wait = false
    @Flag(name: .customLong("queue-anyway"), help: "Queue the job even if no host serves the task now.") var queueAnyway = false
    @Option(help: "With --wait: give up after this many seconds.") var timeout: Double = 300
    @Option(help: "Run no sooner than this many seconds from now.") var delay: Double?
    @Option(name: .customLong("at"), help: "Run no sooner than this time (ISO 8601 in UTC, 2026-12-03T10:00:00Z, or seconds since 1970).")
    var runAt: String?
    @Option(help: "Higher runs first among the queue's ready jobs (-1000 to 1000; default 0).") var priority: Int?
    @Option(name: .customLong("expires-in"), help: "End the job expired if it has not started within this many seconds.")
    var expiresIn: Double?
    @Option(name: .customLong("idempotency-key"), help: "A repeat of this key answers the job it made, which is not made again.")
    var idempotencyKey: String?
    @Option(name: .customLong("unique-for"), help: "A repeat of this task with these arguments within this many seconds answers the earlier job.")
    var uniqueFor: Double?
    @OptionGroup var flags: ClientFlags

    /// The flags as the manager reads them, checked as it checks them.
    func options() throws -> EnqueueOptions {
        var fields = EnqueueOptions(delay: delay, priority: priority, expiresIn: expiresIn, idempotencyKey: idempotencyKey, uniqueFor: uniqueFor)
            .fields
        fields["run_at"] = runAt
        do {
            return try EnqueueOptions(fields: fields)
        } catch {
            throw ValidationError(error.message.replacingOccurrences(of: "run_at", with: "--at"))
        }
    }

    func run() async throws {
        do {
            let options = try options()
            let arguments: JSONValue
            do {
                arguments = try JSONValue.decode(Data(json.utf8))
            } catch {
                throw ValidationError("--json is not valid JSON: \(error)")
            }
            let client = flags.client()
            let id = try await client.enqueue(queue: queue, task: task, arguments: arguments, queueAnyway: queueAnyway, options: options)
            guard wait else {
                print(id)
                return
            }
            try await ResultCommand.pull(id: id, client: client, timeout: timeout)
        } catch let error as ValidationError {
            throw error
        } catch {
            fail(error)
        }
    }
}

struct ResultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "result", abstract: "Show a job's status and result; with --pull wait for it and consume it.")

    @Argument(help: "The request id.") var id: String
    @Flag(help: "Wait for the result and consume it.") var pull = false
    @Option(help: "With --pull: give up after this many seconds.") var timeout: Double = 300
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        do {
            let client = flags.client()
            if pull {
                try await Self.pull(id: id, client: client, timeout: timeout)
            } else {
                let view = try await client.viewResult(id: id)
                let data = try WireCoding.makeEncoder().encode(view)
                print(String(decoding: data, as: UTF8.self))
            }
        } catch {
            fail(error)
        }
    }

    /// Pulls until the job finishes; prints the result, or fails with the job's error. On a
    /// terminal, a status line on standard error says where the job is meanwhile.
    static func pull(id: String, client: ManagerClient, timeout: Double) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        let started = Date()
        let live = isatty(STDERR_FILENO) == 1
        defer { if live { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
        while true {
            if live, let view = try? await client.viewResult(id: id) {
                let place = view.status == .running ? "running on \(view.host ?? "?")" : view.status.rawValue
                let elapsed = String(format: "%.1f", Date().timeIntervalSince(started))
                FileHandle.standardError.write(Data("\r\u{1B}[K\(id.prefix(8)) \(place), \(elapsed) s".utf8))
            }
            switch try await client.pullResult(id: id, wait: min(live ? 1 : 30, max(deadline.timeIntervalSinceNow, 0))) {
            case .completed(let result):
                print(result.jsonString)
                return
            case .failed(let error):
                throw EasyJobsError(.jobFailed, "job \(id) failed: \(error.message)")
            case .pending(let status):
                if Date() >= deadline {
                    throw EasyJobsError(.timedOut, "job \(id) is still \(status.rawValue) after \(timeout) s", context: ["request_id": id])
                }
            }
        }
    }
}

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a job: a queued one never starts, a running one is stopped.")

    @Argument(help: "The request id.") var id: String
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        do {
            let job = try await flags.client().cancel(id: id)
            switch (job.status, job.cancelRequested) {
            case (.cancelled, _): print("cancelled")
            case (.running, true): print("cancelling: its host is stopping it")
            default: print("not cancelled: the job is already \(job.status.rawValue)")
            }
        } catch {
            fail(error)
        }
    }
}

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Print the log of a subprocess job.")

    @Argument(help: "The request id.") var id: String
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        do {
            for line in try await flags.client().log(id: id).lines {
                print(line.stream == .stderr ? "[stderr] \(line.line)" : line.line)
            }
        } catch {
            fail(error)
        }
    }
}

struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "List the plugins each host serves, and those it refused with the reason.")

    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        do {
            let hosts = try await flags.client().hosts()
            if json { return try printJSON(hosts) }
            for host in hosts {
                print("\(host.name) (queues \(host.servedQueues.map(\.description).joined(separator: ", ")), \(host.online ? "online" : "offline"))")
                for plugin in host.plugins {
                    print(
                        "  \(plugin.name) \(plugin.version)  sha256 \(plugin.sha256.prefix(12))  tasks: \(plugin.tasks.map(\.name).joined(separator: ", "))"
                    )
                }
                for refused in host.refused {
                    print("  refused \(refused.file): \(refused.reason)")
                }
            }
        } catch {
            fail(error)
        }
    }
}
