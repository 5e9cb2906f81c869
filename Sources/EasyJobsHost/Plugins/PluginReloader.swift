import EasyJobsClient
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
import ServiceLifecycle
import Synchronization

/// Applies plugin files added, replaced or removed while the host runs, one at a time, off the
/// claim and run paths: a reload never holds up jobs of other plugins.
struct PluginReloader: Sendable {
    let events: AsyncStream<PluginFileEvent>
    let watcher: PluginWatcher
    let directory: PluginDirectory
    let catalog: PluginCatalog
    let children: ChildPool
    let registrar: Registrar
    let recycler: Recycler
    let logger: Logger

    /// Until the task is cancelled: then the watcher stops and the stream ends.
    func run() async {
        await withTaskCancellationHandler {
            for await event in events {
                switch event {
                case .changed(let name):
                    let file = directory.directory.appendingPathComponent(name)
                    let before = catalog.current(file: name)
                    let started = ContinuousClock.now
                    guard let plugin = await directory.load(file: file, into: catalog, logger: logger) else {
                        await registrar.register()  // the refusal is visible in the manager
                        continue
                    }
                    // Idle children of a version no longer served end now; the new one gets its own.
                    children.keep(catalog.plugins)
                    if let before, before.info.sha256 == plugin.info.sha256 { continue }
                    await registrar.register()
                    logger.notice(
                        "plugin \(before == nil ? "added" : "replaced")",
                        metadata: [
                            "file": "\(name)", "plugin": "\(plugin.info.name)",
                            "version": "\(before.map { "\($0.info.version) → " } ?? "")\(plugin.info.version)",
                            "took_ms": "\(((ContinuousClock.now - started).inSeconds * 10_000).rounded() / 10)",
                        ])
                    if before != nil, let reason = recycler.reloaded() {
                        logger.notice("recycling the host after \(reason)")
                        recycler.request()
                    }
                case .removed(let name):
                    guard let removed = catalog.remove(file: name) else { continue }
                    children.keep(catalog.plugins)
                    await registrar.register()
                    logger.notice(
                        "plugin removed", metadata: ["file": "\(name)", "plugin": "\(removed.info.name)", "version": "\(removed.info.version)"])
                }
            }
        } onCancel: {
            watcher.stop()
        }
    }
}
