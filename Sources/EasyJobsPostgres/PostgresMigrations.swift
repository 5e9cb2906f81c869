import Logging
import PostgresNIO

/// The schema of the PostgreSQL store, as an ordered list of migrations.
///
/// A migration, once released, is never edited: a database that already applied it would not
/// see the change. Schema changes go in a new migration ("v2", …). Applied migrations are
/// listed by name in `easyjobs_migrations`.
///
/// The tables mirror the SQLite store's (its "v1" and "v2-fencing" in one, its
/// "v3-claim-by-task" as "v2-claim-by-task"): dates are seconds
/// since 1970 in `DOUBLE PRECISION`, JSON is text as `JSONValue.encoded()` writes it, so both
/// stores hold the same values. Keys that listings sort by are `COLLATE "C"`, so they sort by
/// byte as in SQLite, whatever the database's locale.
enum PostgresMigrations {
    struct Migration: Sendable {
        var name: String
        /// One statement each: the extended query protocol runs one statement per query.
        var statements: [String]
    }

    static let all: [Migration] = [
        Migration(
            name: "v1",
            statements: [
                // seq is never reused, so seq order stays enqueue order (FIFO) for the life of the table.
                """
                CREATE TABLE jobs (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id TEXT COLLATE "C" NOT NULL UNIQUE,
                    queue TEXT COLLATE "C" NOT NULL,
                    task TEXT COLLATE "C" NOT NULL,
                    args TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('waiting', 'queued', 'running', 'completed', 'failed', 'cancelled')),
                    attempts BIGINT NOT NULL DEFAULT 0,
                    result TEXT,
                    error TEXT,
                    created_at DOUBLE PRECISION NOT NULL,
                    started_at DOUBLE PRECISION,
                    finished_at DOUBLE PRECISION,
                    host_id TEXT COLLATE "C",
                    lease_expires_at DOUBLE PRECISION,
                    pulled_at DOUBLE PRECISION,
                    origin TEXT NOT NULL DEFAULT 'api',
                    parent_id TEXT COLLATE "C",
                    max_attempts BIGINT,
                    run_at DOUBLE PRECISION NOT NULL DEFAULT 0,
                    dependencies BIGINT NOT NULL DEFAULT 0,
                    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
                    plugin_name TEXT,
                    plugin_version TEXT,
                    plugin_sha256 TEXT,
                    scheduled_for DOUBLE PRECISION,
                    lease BIGINT NOT NULL DEFAULT 0,
                    lost_leases BIGINT NOT NULL DEFAULT 0
                )
                """,
                // Claims read only queued jobs; the partial index stays as small as the backlog.
                "CREATE INDEX jobs_claim ON jobs (queue, seq) WHERE status = 'queued'",
                "CREATE INDEX jobs_parent ON jobs (parent_id)",
                "CREATE INDEX jobs_finished ON jobs (finished_at)",
                // The expiry sweep reads only running jobs.
                "CREATE INDEX jobs_lease_expiry ON jobs (lease_expires_at) WHERE status = 'running'",
                "CREATE INDEX jobs_status ON jobs (status, seq)",
                """
                CREATE TABLE job_logs (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    job_id TEXT COLLATE "C" NOT NULL,
                    stream TEXT NOT NULL,
                    line TEXT NOT NULL,
                    at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX job_logs_job ON job_logs (job_id, seq)",
                """
                CREATE TABLE schedules (
                    queue TEXT COLLATE "C" NOT NULL,
                    task TEXT COLLATE "C" NOT NULL,
                    expression TEXT NOT NULL,
                    time_zone TEXT NOT NULL,
                    catch_up TEXT NOT NULL,
                    default_args TEXT NOT NULL,
                    paused BOOLEAN NOT NULL DEFAULT FALSE,
                    created_at DOUBLE PRECISION NOT NULL,
                    last_fire_at DOUBLE PRECISION,
                    last_job_id TEXT,
                    PRIMARY KEY (queue, task)
                )
                """,
                """
                CREATE TABLE locks (
                    name TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                    owner TEXT NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL
                )
                """,
                """
                CREATE TABLE paused (
                    kind TEXT COLLATE "C" NOT NULL,
                    name TEXT COLLATE "C" NOT NULL,
                    PRIMARY KEY (kind, name)
                )
                """,
                """
                CREATE TABLE hosts (
                    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                    name TEXT NOT NULL,
                    queue TEXT NOT NULL,
                    max_tasks BIGINT NOT NULL,
                    plugins TEXT NOT NULL,
                    refused TEXT NOT NULL,
                    registered_at DOUBLE PRECISION NOT NULL,
                    last_seen DOUBLE PRECISION NOT NULL,
                    session_hash TEXT
                )
                """,
                // Secrets every manager of the database must agree on (the job-token key), base64.
                """
                CREATE TABLE shared_keys (
                    name TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                    value TEXT NOT NULL
                )
                """,
            ]),
        // A claim reads each served task's queued jobs in seq order from this index, so its cost
        // does not grow with a backlog of tasks it does not serve (PostgresClaimQuery). Built
        // inside the migration's transaction (CONCURRENTLY cannot be): enqueues wait for the
        // build, a few seconds at a million queued jobs. jobs_claim stays: listings of a
        // queue's queued jobs newest first read it, and so do the claims of managers of an
        // earlier version sharing the database during a rolling upgrade.
        Migration(
            name: "v2-claim-by-task",
            statements: [
                "CREATE INDEX jobs_claim_task ON jobs (queue, task, seq) WHERE status = 'queued'"
            ]),
        // Delayed jobs wait as `scheduled` and unstarted jobs past their deadline end `expired`;
        // claims take the highest priority first, then the oldest (jobs_claim_task is rebuilt with
        // priority; a manager of an earlier version reads it too, sorting its few rows);
        // unique_key holds an Idempotency-Key or unique_for key, found by jobs_unique.
        Migration(
            name: "v3-job-features",
            statements: [
                "ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_status_check",
                """
                ALTER TABLE jobs ADD CONSTRAINT jobs_status_check
                    CHECK (status IN ('waiting', 'scheduled', 'queued', 'running', 'completed', 'failed', 'cancelled', 'expired'))
                """,
                "ALTER TABLE jobs ADD COLUMN priority BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE jobs ADD COLUMN expires_at DOUBLE PRECISION",
                "ALTER TABLE jobs ADD COLUMN unique_key TEXT COLLATE \"C\"",
                "ALTER TABLE jobs ADD COLUMN progress DOUBLE PRECISION",
                "ALTER TABLE jobs ADD COLUMN progress_message TEXT",
                "ALTER TABLE jobs ADD COLUMN webhook_url TEXT",
                """
                CREATE TABLE webhook_deliveries (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    job_id TEXT COLLATE "C" NOT NULL,
                    url TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    attempts BIGINT NOT NULL DEFAULT 0,
                    next_at DOUBLE PRECISION NOT NULL,
                    delivered_at DOUBLE PRECISION,
                    failed_at DOUBLE PRECISION,
                    last_error TEXT
                )
                """,
                "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE delivered_at IS NULL AND failed_at IS NULL",
                "DROP INDEX jobs_claim_task",
                "CREATE INDEX jobs_claim_task ON jobs (queue, task, priority DESC, seq) WHERE status = 'queued'",
                "CREATE INDEX jobs_scheduled ON jobs (queue, run_at) WHERE status = 'scheduled'",
                "CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE status IN ('waiting', 'scheduled', 'queued') AND expires_at IS NOT NULL",
                "CREATE INDEX jobs_unique ON jobs (queue, unique_key, created_at) WHERE unique_key IS NOT NULL",
                // Starts of rate-limited tasks in their current window.
                """
                CREATE TABLE task_rates (
                    queue TEXT COLLATE "C" NOT NULL,
                    task TEXT COLLATE "C" NOT NULL,
                    window_start BIGINT NOT NULL,
                    count BIGINT NOT NULL,
                    PRIMARY KEY (queue, task)
                )
                """,
            ]),
        // A host may serve several queues with weights: JSON [{"name", "weight"}]. NULL (a row of
        // an earlier version) means `queue` alone, and `queue` stays the first.
        Migration(name: "v4-host-queues", statements: ["ALTER TABLE hosts ADD COLUMN queues TEXT"]),
    ]

    /// Applies the migrations `connection`'s database lacks. Must run inside a transaction:
    /// the advisory lock is held until it ends, so managers starting together take turns, and
    /// a migration that fails leaves nothing half applied.
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
        // Advisory locks are per database: stores of other databases on the server do not wait.
        _ = try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended('easyjobs_migrations', 0))", logger: logger).collect()
        _ = try await connection.query("CREATE TABLE IF NOT EXISTS easyjobs_migrations (name TEXT PRIMARY KEY)", logger: logger).collect()
        var applied: Set<String> = []
        for row in try await connection.query("SELECT name FROM easyjobs_migrations", logger: logger).collect() {
            applied.insert(try Columns(row)["name"])
        }
        for migration in all where !applied.contains(migration.name) {
            for statement in migration.statements {
                _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
            }
            _ = try await connection.query("INSERT INTO easyjobs_migrations (name) VALUES (\(migration.name))", logger: logger).collect()
            logger.info("Applied database migration", metadata: ["migration": "\(migration.name)"])
        }
    }
}
