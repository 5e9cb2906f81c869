#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A plugin file that is ready to be (re)loaded, or that is gone.
public enum PluginFileEvent: Sendable, Equatable {
    case changed(String)
    case removed(String)
}

/// Watches a plugin directory with inotify and reports files once they are complete.
///
/// A file is taken when it was renamed into place (an atomic `mv`) or when the last writer
/// closed it, and then only once its size and modification time have stayed put for
/// `settle`: a slow copy or a linker still writing is never read half-written. No polling:
/// the thread sleeps in `poll(2)` on the inotify descriptor.
public final class PluginWatcher: Sendable {
    public let directory: URL
    public let settle: Duration
    private let stopped = Mutex(false)

    public init(directory: URL, settle: Duration = .milliseconds(40)) {
        self.directory = directory
        self.settle = settle
    }

    /// Starts watching; the stream ends when `stop()` is called. Fails when inotify cannot watch the directory.
    public func events() throws -> AsyncStream<PluginFileEvent> {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_MODIFY)
        guard inotify_add_watch(descriptor, directory.path, mask) >= 0 else {
            let code = errno
            close(descriptor)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        let (stream, continuation) = AsyncStream.makeStream(of: PluginFileEvent.self)
        OSThread.detach(name: "easyjobs-plugin-watcher") { [self] in
            self.loop(descriptor: descriptor, continuation: continuation)
            close(descriptor)
            continuation.finish()
        }
        return stream
    }

    public func stop() {
        stopped.withLock { $0 = true }
    }

    private struct Pending {
        var deadline: ContinuousClock.Instant
        var size: off_t
        var modified: timespec
    }

    private func loop(descriptor: Int32, continuation: AsyncStream<PluginFileEvent>.Continuation) {
        var pending: [String: Pending] = [:]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !stopped.withLock({ $0 }) {
            let now = ContinuousClock.now
            let nextDeadline = pending.values.map(\.deadline).min()
            var timeout = 200
            if let nextDeadline {
                let wait = nextDeadline - now
                timeout = max(0, min(200, Int(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)))
            }
            var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&pollDescriptor, 1, Int32(timeout)) > 0 {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 { handle(buffer[0..<count], pending: &pending, continuation: continuation) }
            }
            // Files whose last change has settled and that did not move since.
            for (name, entry) in pending where entry.deadline <= .now {
                guard let status = fileStatus(of: name) else {
                    pending[name] = nil
                    continue
                }
                if status.st_size == entry.size && status.st_mtim.tv_sec == entry.modified.tv_sec && status.st_mtim.tv_nsec == entry.modified.tv_nsec
                {
                    pending[name] = nil
                    continuation.yield(.changed(name))
                } else {
                    pending[name] = Pending(deadline: .now + settle, size: status.st_size, modified: status.st_mtim)
                }
            }
        }
    }

    private func handle(_ bytes: ArraySlice<UInt8>, pending: inout [String: Pending], continuation: AsyncStream<PluginFileEvent>.Continuation) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            let headerSize = MemoryLayout<inotify_event>.size
            while offset + headerSize <= raw.count {
                let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                let nameBytes = raw[(offset + headerSize)..<min(raw.count, offset + headerSize + Int(event.len))]
                let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                offset += headerSize + Int(event.len)
                guard PluginDirectory.isPluginFile(name) else { continue }
                let mask = Int32(bitPattern: event.mask)
                if mask & Int32(IN_DELETE | IN_MOVED_FROM) != 0 {
                    pending[name] = nil
                    continuation.yield(.removed(name))
                } else if mask & Int32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 {
                    if let status = fileStatus(of: name) {
                        pending[name] = Pending(deadline: .now + settle, size: status.st_size, modified: status.st_mtim)
                    }
                } else {
                    // Created or written: wait for the writer to close it.
                    pending[name] = nil
                }
            }
        }
    }

    private func fileStatus(of name: String) -> stat? {
        var status = stat()
        return stat(directory.appendingPathComponent(name).path, &status) == 0 ? status : nil
    }
}
