import EasyJobsCore
import Foundation
import Logging

/// The plugins found in a directory: those that loaded and those refused, with reasons.
public struct PluginSet: Sendable {
    public var plugins: [LoadedPlugin]
    public var refused: [RefusedPlugin]

    /// The plugin serving `task`.
    public func plugin(serving task: String) -> LoadedPlugin? {
        plugins.first { $0.hasTask(task) }
    }

    public var taskNames: Set<String> {
        Set(plugins.flatMap { $0.info.tasks.map(\.name) })
    }
}

/// Loads every `*.so` of a plugin directory. A refused plugin is reported and skipped; it
/// never stops the host.
public struct PluginDirectory: Sendable {
    public let directory: URL
    public let loader: any PluginLoader

    public init(directory: URL, loader: any PluginLoader) {
        self.directory = directory
        self.loader = loader
    }

    public func loadAll(logger: Logger) -> PluginSet {
        var set = PluginSet(plugins: [], refused: [])
        let files: [URL]
        do {
            files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "so" && !$0.lastPathComponent.hasPrefix(".") }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        } catch {
            logger.error("cannot read the plugin directory", metadata: ["directory": "\(directory.path)", "error": "\(error)"])
            return set
        }
        for file in files {
            do {
                let plugin = try loader.load(file: file)
                if let clash = plugin.info.tasks.first(where: { set.plugin(serving: $0.name) != nil }) {
                    let owner = set.plugin(serving: clash.name)!
                    throw EasyJobsError(
                        .pluginRefused,
                        "\(file.lastPathComponent): task '\(clash.name)' is already served by plugin \(owner.info.name) (\(owner.file.lastPathComponent))",
                        context: ["file": file.lastPathComponent, "task": clash.name])
                }
                set.plugins.append(plugin)
                logger.info(
                    "loaded plugin",
                    metadata: [
                        "plugin": "\(plugin.info.name)", "version": "\(plugin.info.version)", "file": "\(file.lastPathComponent)",
                        "sha256": "\(plugin.info.sha256.prefix(12))", "tasks": "\(plugin.info.tasks.map(\.name).joined(separator: ","))",
                    ])
            } catch {
                let reason = (error as? EasyJobsError)?.message ?? "\(file.lastPathComponent): \(error)"
                set.refused.append(RefusedPlugin(file: file.lastPathComponent, reason: reason))
                logger.error("refused plugin: \(reason)", metadata: ["file": "\(file.lastPathComponent)"])
            }
        }
        // Names no plugin here has may still be served by another host of the queue: the
        // manager checks the whole queue; here they are only worth a warning.
        let problems = PipelineValidation.problems(in: set.plugins.flatMap(\.info.tasks))
        for task in problems.keys.sorted() {
            for problem in problems[task]! {
                logger.warning("pipeline problem in task '\(task)': \(problem)")
            }
        }
        return set
    }
}
