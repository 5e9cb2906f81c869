import EasyJobsCore
import Foundation

/// Turns a plugin file into a loaded plugin, or refuses it with a reason.
public protocol PluginLoader: Sendable {
    /// Loads the plugin at `file`. Throws an `EasyJobsError` with code `.pluginRefused` whose
    /// message names the file, the field and both values when the plugin is incompatible.
    func load(file: URL) async throws(EasyJobsError) -> LoadedPlugin
}
