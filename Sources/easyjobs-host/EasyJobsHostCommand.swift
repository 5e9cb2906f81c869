import ArgumentParser
import EasyJobsHostCLI

/// `easyjobs-host`: the host alone, on FoundationEssentials, without the manager's libraries.
///
/// `easyjobs host …` becomes this executable when it is installed beside `easyjobs`, and a host
/// starts its subprocess children (`run-task`) and plugin probes (`describe-plugin`) from it,
/// so that each of those processes maps only what a host needs:
///
/// ```sh
/// easyjobs-host host --manager http://127.0.0.1:8220 --plugins plugins --queue ETL
/// ```
@main
struct EasyJobsHostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "easyjobs-host",
        abstract: "An EasyJobs host: loads the plugins of a directory and runs their jobs (what `easyjobs host` runs).",
        subcommands: [HostCommand.self, RunTaskCommand.self, DescribePluginCommand.self])
}
