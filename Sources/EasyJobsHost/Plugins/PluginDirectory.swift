import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Loads every `*.so` (and foreign-library manifest, `*.easyjobs.json`) of a plugin directory. A refused plugin is reported and skipped; it
/// never stops the host.
public struct PluginDirectory: Sendable {
    public let directory: URL
    public let loader: any PluginLoader

    public init(directory: URL, loader: any PluginLoader) {
        self.directory = directory
        self.loader = loader
    }

    /// The `*.so` files of the directory, in name order; hidden files (half-copied by tools) are skipped.
    public func pluginFiles() -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { Self.isPluginFile($0) }
            .sorted()
            .map { directory.appendingPathComponent($0) }
    }

    /// A shared library, or the manifest file of a foreign library (`*.easyjobs.json`).
    static func isPluginFile(_ name: String) -> Bool {
        (name.hasSuffix(".so") || name.hasSuffix(FFIManifest.fileExtension)) && !name.hasPrefix(".")
    }

    /// Loads one file into the catalog, or records why it is refused. Returns the plugin loaded.
    @discardableResult
    public func load(file: URL, into catalog: PluginCatalog, logger: Logger) async -> LoadedPlugin? {
        do {
            let plugin = try await loader.load(file: file)
            try catalog.install(plugin, file: file.lastPathComponent)
            logger.info(
                "loaded plugin",
                metadata: [
                    "plugin": "\(plugin.info.name)", "version": "\(plugin.info.version)", "file": "\(file.lastPathComponent)",
                    "sha256": "\(plugin.info.sha256.prefix(12))", "tasks": "\(plugin.info.tasks.map(\.name).joined(separator: ","))",
                ])
            return plugin
        } catch {
            let reason = error.message
            catalog.refuse(file: file.lastPathComponent, reason: reason)
            logger.error("refused plugin: \(reason)", metadata: ["file": "\(file.lastPathComponent)"])
            return nil
        }
    }

    /// Loads every plugin file into a new catalog.
    public func loadAll(logger: Logger) async -> PluginCatalog {
        let catalog = PluginCatalog()
        for file in pluginFiles() {
            await load(file: file, into: catalog, logger: logger)
        }
        Self.warnAboutPipelines(of: catalog, logger: logger)
        return catalog
    }

    /// Names no plugin here has may still be served by another host of the queue: the manager
    /// checks the whole queue; here they are only worth a warning.
    static func warnAboutPipelines(of catalog: PluginCatalog, logger: Logger) {
        let problems = PipelineValidation.problems(in: catalog.plugins.flatMap(\.info.tasks))
        for task in problems.keys.sorted() {
            for problem in problems[task]! {
                logger.warning("pipeline problem in task '\(task)': \(problem)")
            }
        }
    }
}
