import GRDB

/// The schema of the SQLite store, as an ordered list of migrations.
///
/// A migration, once released, is never edited: a database file that already applied
/// it would not see the change. Schema changes go in a new migration ("v2", …).
///
/// The SQL sticks to what PostgreSQL understands too (apart from `AUTOINCREMENT`, which
/// becomes an identity column there), so that both stores keep one shape. Dates are
/// REAL seconds since 1970, which compare numerically in both.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // AUTOINCREMENT: seq values are never reused, even after rows are deleted,
            // so that seq order stays enqueue order (FIFO) for the life of the file.
            try db.execute(
                sql: """
                    CREATE TABLE jobs (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        queue TEXT NOT NULL,
                        task TEXT NOT NULL,
                        args TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('waiting', 'queued', 'running', 'completed', 'failed', 'cancelled')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        result TEXT,
                        error TEXT,
                        created_at REAL NOT NULL,
                        started_at REAL,
                        finished_at REAL,
                        host_id TEXT,
                        lease_expires_at REAL,
                        pulled_at REAL,
                        origin TEXT NOT NULL DEFAULT 'api',
                        parent_id TEXT,
                        max_attempts INTEGER,
                        run_at REAL NOT NULL DEFAULT 0,
                        dependencies INTEGER NOT NULL DEFAULT 0,
                        cancel_requested INTEGER NOT NULL DEFAULT 0,
                        plugin_name TEXT,
                        plugin_version TEXT,
                        plugin_sha256 TEXT,
                        scheduled_for REAL
                    );
                    CREATE INDEX jobs_claim ON jobs (queue, status, seq);
                    CREATE INDEX jobs_parent ON jobs (parent_id);
                    CREATE INDEX jobs_finished ON jobs (finished_at);
                    CREATE INDEX jobs_lease_expiry ON jobs (status, lease_expires_at);
                    CREATE INDEX jobs_status ON jobs (status, seq);

                    CREATE TABLE job_logs (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        job_id TEXT NOT NULL,
                        stream TEXT NOT NULL,
                        line TEXT NOT NULL,
                        at REAL NOT NULL
                    );
                    CREATE INDEX job_logs_job ON job_logs (job_id, seq);

                    CREATE TABLE schedules (
                        queue TEXT NOT NULL,
                        task TEXT NOT NULL,
                        expression TEXT NOT NULL,
                        time_zone TEXT NOT NULL,
                        catch_up TEXT NOT NULL,
                        default_args TEXT NOT NULL,
                        paused INTEGER NOT NULL DEFAULT 0,
                        created_at REAL NOT NULL,
                        last_fire_at REAL,
                        last_job_id TEXT,
                        PRIMARY KEY (queue, task)
                    );

                    CREATE TABLE locks (
                        name TEXT NOT NULL PRIMARY KEY,
                        owner TEXT NOT NULL,
                        expires_at REAL NOT NULL
                    );

                    CREATE TABLE paused (
                        kind TEXT NOT NULL,
                        name TEXT NOT NULL,
                        PRIMARY KEY (kind, name)
                    );

                    CREATE TABLE hosts (
                        id TEXT NOT NULL PRIMARY KEY,
                        name TEXT NOT NULL,
                        queue TEXT NOT NULL,
                        max_tasks INTEGER NOT NULL,
                        plugins TEXT NOT NULL,
                        refused TEXT NOT NULL,
                        registered_at REAL NOT NULL,
                        last_seen REAL NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2-fencing") { db in
            // lease: the fencing token of a job's runs, bumped by every claim and never reset.
            // lost_leases: runs whose host stopped renewing, counted against max_attempts.
            try db.execute(
                sql: """
                    ALTER TABLE jobs ADD COLUMN lease INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE jobs ADD COLUMN lost_leases INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE hosts ADD COLUMN session_hash TEXT;
                    """)
        }
        migrator.registerMigration("v3-claim-by-task") { db in
            // A claim reads each served task's queued jobs in seq order from this index, so its
            // cost does not grow with a backlog of tasks it does not serve (SQLiteClaimQuery).
            // Partial: it holds only queued jobs, not the history, and SQLite uses it because
            // claims state `status = 'queued'` literally (with EXPLAIN QUERY PLAN, also after
            // ANALYZE; the full (queue, status, task, seq) index would do, at the history's size).
            // jobs_claim stays: counts(queue:) and listings of a queue newest first read it.
            try db.execute(
                sql: """
                    CREATE INDEX jobs_claim_task ON jobs (queue, task, seq) WHERE status = 'queued';
                    """)
        }
        migrator.registerMigration("v4-job-features") { db in
            // Two statuses (scheduled, expired) need a new CHECK, which SQLite cannot alter: the
            // table is rebuilt, keeping every row and its seq, and sqlite_sequence's high-water
            // mark, so seq never reuses a number of a deleted job.
            // priority: claims take the highest first (jobs_claim_task orders by it, then seq).
            // expires_at: a job not started by then ends expired (jobs_expiry finds them).
            // unique_key: an Idempotency-Key or unique_for key; jobs_unique finds its match.
            // task_rates: starts of rate-limited tasks in their current window.
            // progress, progress_message: how far the latest run got (context.progress).
            // webhook_url, webhook_deliveries: an ended job's outcome, queued for its webhook in the
            // transaction that ends it (an outbox), sent by the manager's WebhookDispatcher.
            let columns = """
                seq, id, queue, task, args, status, attempts, result, error, created_at, started_at, finished_at, host_id,
                lease_expires_at, pulled_at, origin, parent_id, max_attempts, run_at, dependencies, cancel_requested,
                plugin_name, plugin_version, plugin_sha256, scheduled_for, lease, lost_leases
                """
            let sequence = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'")
            try db.execute(
                sql: """
                    CREATE TABLE jobs_v4 (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        queue TEXT NOT NULL,
                        task TEXT NOT NULL,
                        args TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('waiting', 'scheduled', 'queued', 'running', 'completed', 'failed', 'cancelled', 'expired')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        result TEXT,
                        error TEXT,
                        created_at REAL NOT NULL,
                        started_at REAL,
                        finished_at REAL,
                        host_id TEXT,
                        lease_expires_at REAL,
                        pulled_at REAL,
                        origin TEXT NOT NULL DEFAULT 'api',
                        parent_id TEXT,
                        max_attempts INTEGER,
                        run_at REAL NOT NULL DEFAULT 0,
                        dependencies INTEGER NOT NULL DEFAULT 0,
                        cancel_requested INTEGER NOT NULL DEFAULT 0,
                        plugin_name TEXT,
                        plugin_version TEXT,
                        plugin_sha256 TEXT,
                        scheduled_for REAL,
                        lease INTEGER NOT NULL DEFAULT 0,
                        lost_leases INTEGER NOT NULL DEFAULT 0,
                        priority INTEGER NOT NULL DEFAULT 0,
                        expires_at REAL,
                        unique_key TEXT,
                        progress REAL,
                        progress_message TEXT,
                        webhook_url TEXT
                    );
                    INSERT INTO jobs_v4 (\(columns)) SELECT \(columns) FROM jobs;
                    DROP TABLE jobs;
                    ALTER TABLE jobs_v4 RENAME TO jobs;
                    CREATE INDEX jobs_claim ON jobs (queue, status, seq);
                    CREATE INDEX jobs_parent ON jobs (parent_id);
                    CREATE INDEX jobs_finished ON jobs (finished_at);
                    CREATE INDEX jobs_lease_expiry ON jobs (status, lease_expires_at);
                    CREATE INDEX jobs_status ON jobs (status, seq);
                    CREATE INDEX jobs_claim_task ON jobs (queue, task, priority DESC, seq) WHERE status = 'queued';
                    CREATE INDEX jobs_scheduled ON jobs (queue, run_at) WHERE status = 'scheduled';
                    CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE status IN ('waiting', 'scheduled', 'queued') AND expires_at IS NOT NULL;
                    CREATE INDEX jobs_unique ON jobs (queue, unique_key, created_at) WHERE unique_key IS NOT NULL;
                    CREATE TABLE webhook_deliveries (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        job_id TEXT NOT NULL,
                        url TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_at REAL NOT NULL,
                        delivered_at REAL,
                        failed_at REAL,
                        last_error TEXT
                    );
                    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
                    CREATE TABLE task_rates (
                        queue TEXT NOT NULL,
                        task TEXT NOT NULL,
                        window_start INTEGER NOT NULL,
                        count INTEGER NOT NULL,
                        PRIMARY KEY (queue, task)
                    );
                    """)
            if let sequence {
                try db.execute(sql: "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'jobs'", arguments: [sequence])
                if db.changesCount == 0 { try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES ('jobs', ?)", arguments: [sequence]) }
            }
        }
        migrator.registerMigration("v5-host-queues") { db in
            // A host may serve several queues with weights: JSON [{"name", "weight"}]. NULL (a
            // row of an earlier version) means `queue` alone, and `queue` stays the first.
            try db.execute(sql: "ALTER TABLE hosts ADD COLUMN queues TEXT")
        }
        migrator.registerMigration("v6-partial-indexes") { db in
            // Indexes that hold only the rows their queries look for: a job enters the parent
            // index only if it has a parent, the finished index when it finishes, the lease
            // index while it runs. An enqueue writes three index entries fewer, a claim and an
            // end each move none of these three, they add or remove one.
            try db.execute(
                sql: """
                    DROP INDEX jobs_parent;
                    CREATE INDEX jobs_parent ON jobs (parent_id) WHERE parent_id IS NOT NULL;
                    DROP INDEX jobs_finished;
                    CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
                    DROP INDEX jobs_lease_expiry;
                    CREATE INDEX jobs_lease_expiry ON jobs (lease_expires_at) WHERE status = 'running';
                    """)
        }
        migrator.registerMigration("v7-indexes-by-status") { db in
            // Every status change moved a job's entries in jobs_claim (queue, status, seq) and
            // jobs_status (status, seq), indexes of the whole history: the writer, which bounds
            // batched throughput, spent most of its time on index writes (issue 14). Each status
            // a job passes through has a partial index of its own now (queued: jobs_claim_task,
            // scheduled: jobs_scheduled, running: jobs_lease_expiry, waiting: jobs_waiting), and
            // so have failed runs (jobs_unsuccessful); a completed job is in jobs_finished alone,
            // which now holds its queue and status for counts. Counts and listings read the
            // index of each status they ask for (SQLiteStatusIndex). The status is a column of
            // each index a count reads, although its condition fixes it: SQLite counts from a
            // partial index alone only if it holds every column the statement names.
            // An ended job written by an older version without an end time gets one: counts
            // of completed jobs and retention read jobs_finished, which holds only timed ends.
            try db.execute(
                sql: """
                    UPDATE jobs SET finished_at = COALESCE(started_at, created_at)
                    WHERE finished_at IS NULL AND status IN ('completed', 'failed', 'cancelled', 'expired');
                    DROP INDEX jobs_claim;
                    DROP INDEX jobs_status;
                    DROP INDEX jobs_claim_task;
                    CREATE INDEX jobs_claim_task ON jobs (queue, task, priority DESC, seq, status) WHERE status = 'queued';
                    DROP INDEX jobs_scheduled;
                    CREATE INDEX jobs_scheduled ON jobs (queue, run_at, status) WHERE status = 'scheduled';
                    CREATE INDEX jobs_waiting ON jobs (queue, status, seq) WHERE status = 'waiting';
                    DROP INDEX jobs_finished;
                    CREATE INDEX jobs_finished ON jobs (finished_at, queue, status) WHERE finished_at IS NOT NULL;
                    CREATE INDEX jobs_unsuccessful ON jobs (queue, status, seq) WHERE \(SQLiteStatusIndex.unsuccessfulCondition);
                    """)
        }
        return migrator
    }
}
