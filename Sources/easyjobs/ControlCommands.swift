import EasyJobsHostCLI
import ArgumentParser
import EasyJobsClient
import EasyJobsCore
import Foundation

struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules", abstract: "List schedules with their next fire time and last outcome.")

    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        do {
            let schedules = try await flags.client().schedules()
            if json { return try printJSON(schedules) }
            for schedule in schedules {
                let next = schedule.nextFireAt.map(WireCoding.format) ?? "-"
                let last = schedule.lastFireAt.map(WireCoding.format) ?? "never"
                print(
                    "\(schedule.queue)/\(schedule.task)  \(schedule.expression) (\(schedule.timeZone))  \(schedule.paused ? "paused" : "next \(next)")"
                        + "  last \(last)\(schedule.lastOutcome.map { " → \($0.rawValue)" } ?? "")  catch-up \(schedule.catchUp.rawValue)")
            }
        } catch {
            fail(error)
        }
    }
}

struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "Pause or resume a schedule, or trigger its task now.")

    @Argument(help: "pause, resume or trigger.") var action: WireContract.ScheduleAction
    @Argument(help: "The queue.") var queue: String
    @Argument(help: "The task.") var task: String
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        do {
            let answer = try await flags.client().schedule(action, queue: queue, task: task)
            print(action == .trigger ? (answer["request_id"]?.stringValue ?? answer.jsonString) : "\(action.rawValue)d \(queue)/\(task)")
        } catch {
            fail(error)
        }
    }
}

/// `--host NAME` or `--queue QUEUE`, for pause and resume.
struct PauseTarget: ParsableArguments {
    @Option(help: "A host, by its name.") var host: String?
    @Option(help: "A queue: every host of it.") var queue: String?

    func validate() throws {
        guard (host == nil) != (queue == nil) else { throw ValidationError("give exactly one of --host NAME or --queue QUEUE") }
    }

    func apply(_ client: ManagerClient, paused: Bool) async throws -> PausedWork {
        if let host { return try await client.setPaused(.host, name: host, paused: paused) }
        return try await client.setPaused(.queue, name: queue!, paused: paused)
    }
}

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Pause a host or a queue: running jobs finish, nothing new is claimed.")

    @OptionGroup var target: PauseTarget
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        do {
            let paused = try await target.apply(flags.client(), paused: true)
            print("paused hosts: \(paused.hosts.joined(separator: ", ")); paused queues: \(paused.queues.joined(separator: ", "))")
        } catch {
            fail(error)
        }
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume a paused host or queue.")

    @OptionGroup var target: PauseTarget
    @OptionGroup var flags: ClientFlags

    func run() async throws {
        do {
            let paused = try await target.apply(flags.client(), paused: false)
            print("paused hosts: \(paused.hosts.joined(separator: ", ")); paused queues: \(paused.queues.joined(separator: ", "))")
        } catch {
            fail(error)
        }
    }
}

extension WireContract.ScheduleAction: ExpressibleByArgument {}
