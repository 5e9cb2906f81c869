import Foundation

extension SQLiteJobStore {
    /// How the store opens its SQLite file.
    ///
    /// ```swift
    /// let store = try SQLiteJobStore(path: "jobs.sqlite", options: .init(synchronous: .full))
    /// ```
    public struct Options: Sendable, Hashable {
        /// How hard SQLite works to put a commit on disk before returning.
        ///
        /// The store always runs in WAL mode, where these levels trade durability
        /// against one fsync per commit.
        public enum Synchronous: String, Sendable, Hashable, CaseIterable {
            /// A committed transaction survives a crash of the process, but the last
            /// commits may be lost if the machine loses power. No fsync per commit,
            /// which is what makes thousands of jobs per second possible.
            case normal = "NORMAL"
            /// A committed transaction also survives a power loss, at the cost of
            /// an fsync of the WAL on every commit.
            case full = "FULL"
        }

        /// Durability of commits. Defaults to ``Synchronous/normal``: with WAL it survives a
        /// crash of the manager, which is the failure the job lifecycle is designed around.
        public var synchronous: Synchronous

        /// How long a statement waits for a lock held by another connection (another
        /// manager process sharing the file, or a checkpoint) before failing, in seconds.
        /// Defaults to 5 seconds: long enough to ride out a burst of writes, short enough
        /// that a stuck peer surfaces as an error rather than a hang.
        public var busyTimeout: TimeInterval

        /// How many read-only connections may read concurrently with the writer.
        /// Defaults to 4: reads (job lookups, listings) are short, so a few connections
        /// cover concurrent API requests without holding many file descriptors.
        public var maximumReaderCount: Int

        /// Page cache of the writing connection, in KiB. Defaults to 16 MiB (SQLite's own default
        /// is 2 MiB): enough for the hot pages of the job indexes at a million queued jobs, and
        /// a bound on what the cache can take, however large the table grows.
        public var writerCacheKiB: Int

        /// WAL pages written before SQLite copies them back into the database file. Defaults to
        /// 8,192 (64 MiB of WAL with the default page size; SQLite's default is 1,000): index
        /// pages that every claim and report rewrites are copied back once per checkpoint, not
        /// once per thousand pages.
        public var checkpointPages: Int

        /// Bytes per page of a database file the store creates; a file that exists keeps the
        /// page size it was made with. A power of two from 512 to 65,536 (others are rounded
        /// down to one). Defaults to 8,192 (SQLite's default is 4,096): each transaction writes
        /// its rows and index entries as half as many WAL frames, and the store's whole job
        /// cycle (`easyjobs-bench --store-cycle`) took about 10 % less CPU per job.
        public var pageSize: Int

        public init(
            synchronous: Synchronous = .normal, busyTimeout: TimeInterval = 5, maximumReaderCount: Int = 4, writerCacheKiB: Int = 16_384,
            checkpointPages: Int = 8_192, pageSize: Int = 8_192
        ) {
            self.synchronous = synchronous
            self.busyTimeout = busyTimeout
            self.maximumReaderCount = maximumReaderCount
            self.writerCacheKiB = max(writerCacheKiB, 64)
            self.checkpointPages = max(checkpointPages, 1)
            // The largest power of two not above the value, within SQLite's range.
            let bounded = min(max(pageSize, 512), 65_536)
            self.pageSize = 1 << (Int.bitWidth - 1 - bounded.leadingZeroBitCount)
        }
    }
}
