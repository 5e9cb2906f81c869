import ArgumentParser

/// `easyjobs`: the manager, the host and the client in one command.
@main
struct EasyJobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "easyjobs",
        abstract: "A job system whose tasks come from Swift plugins.",
        subcommands: [
            ManagerCommand.self, HostCommand.self, UpCommand.self, RunCommand.self, ResultCommand.self, CancelCommand.self,
            LogCommand.self, PluginsCommand.self, SchedulesCommand.self, ScheduleCommand.self, PauseCommand.self, ResumeCommand.self,
            JobsCommand.self, HostsCommand.self, TasksCommand.self, RetryCommand.self,
            PluginCommand.self, ProduceCommand.self, RunTaskCommand.self, DescribePluginCommand.self,
        ])
}
