import ArgumentParser

/// `easyjobs plugin new|dev|test|inspect`: a plugin author's loop, from a new package to a build
/// that serves jobs, without a manager or with one.
struct PluginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin", abstract: "Create, develop, test and inspect plugins.",
        subcommands: [PluginNewCommand.self, PluginDevCommand.self, PluginTestCommand.self, PluginInspectCommand.self])
}
