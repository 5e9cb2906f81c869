import EasyJobsCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// What `easyjobs describe-plugin FILE` prints: the plugin as the host would load it.
public struct PluginDescription: Codable, Sendable {
    public var plugin: PluginInfo
    public var sdkVersion: String

    public init(plugin: PluginInfo, sdkVersion: String) {
        self.plugin = plugin
        self.sdkVersion = sdkVersion
    }

    enum CodingKeys: String, CodingKey { case plugin, sdkVersion = "sdk_version" }

    /// Opens `file` in this process (the caller is a throwaway child) and describes it.
    public static func describe(file: URL, name: String?) throws(EasyJobsError) -> PluginDescription {
        // Refusals name the file in the plugin directory, not the cache copy the probe opens.
        let plugin = try DynamicLibraryLoader(cacheDirectory: file.deletingLastPathComponent()).loadInProcess(file: file, name: name)
        return PluginDescription(plugin: plugin.info, sdkVersion: plugin.sdkVersion)
    }
}
