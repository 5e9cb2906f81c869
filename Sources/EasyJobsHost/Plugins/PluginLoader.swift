import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Turns a plugin file into a loaded plugin, or refuses it with a reason.
public protocol PluginLoader: Sendable {
    /// Loads the plugin at `file`. Throws an `EasyJobsError` with code `.pluginRefused` whose
    /// message names the file, the field and both values when the plugin is incompatible.
    func load(file: URL) async throws(EasyJobsError) -> LoadedPlugin
}
