#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Writes the lines tasks print to standard output, verbatim and whole, as the seed's workers do.
enum TaskOutput {
    private static let lock = Mutex(())

    static func write(_ line: String) {
        lock.withLock { _ in
            var text = line
            text.append("\n")
            text.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
    }
}
