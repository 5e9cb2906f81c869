import ArgumentParser
import EasyJobsHost
import EasyJobsHostCLI

/// `easyjobs`: the manager, the host and the client in one command.
@main
struct EasyJobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "easyjobs",
        abstract: "A job system whose tasks come from Swift plugins.",
        subcommands: [
            ManagerCommand.self, HostCommand.self, UpCommand.self, RunCommand.self, ResultCommand.self, CancelCommand.self,
            LogCommand.self, PluginsCommand.self, SchedulesCommand.self, ScheduleCommand.self, PauseCommand.self, ResumeCommand.self,
            JobsCommand.self, HostsCommand.self, TasksCommand.self, RetryCommand.self, DeadCommand.self,
            PluginCommand.self, ProduceCommand.self, RunTaskCommand.self, DescribePluginCommand.self,
        ])

    static func main() async {
        // A host (and a subprocess child, a plugin probe) runs as the lean `easyjobs-host` when
        // it is installed here: the same command line, without the manager's libraries.
        HostExecutable.replaceProcess(arguments: Array(CommandLine.arguments.dropFirst()))
        await main(nil)
    }
}
