#!/usr/bin/env python3
"""What SQLite alone costs per job for the three row writes of a job's life on the manager's
store: the enqueue's insert, the claim's UPDATE … RETURNING and the report's fenced
UPDATE … FROM (VALUES …) RETURNING, with the statements and batch sizes the SQLite store uses
(1,000-job enqueues, 1,024-job claims over 20 tasks, reports of 512 ended in chunks of 64).

The schema is the one `easyjobs manager` creates (it is started once on an empty data directory
and stopped); the statements mirror SQLiteJobStore's as of this commit. Variants add or drop indexes or
return fewer columns, to show what each part costs. Python's sqlite3 module runs the statements,
so the figures include a little of its own overhead; compare variants within one run.

    scripts/sqlite-floor.py --easyjobs .build-release/release/easyjobs --jobs 50000 --rounds 2
"""
import argparse, os, signal, sqlite3, subprocess, tempfile, time, uuid

VARIANTS = {
    "as stored": {},
    # The two indexes over every job by status that the schema had until migration
    # v7-indexes-by-status (issue 14): each status change moved a job's entries in both.
    "with the old status indexes": {"create": ["CREATE INDEX jobs_claim ON jobs (queue, status, seq)",
                                               "CREATE INDEX jobs_status ON jobs (status, seq)"]},
    "fewer columns returned": {"slim": True},
}

def make_schema(easyjobs, directory):
    data = os.path.join(directory, "data")
    manager = subprocess.Popen([easyjobs, "manager", "--port", "0", "--data-dir", data],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = os.path.join(data, "easyjobs.sqlite")
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            if os.path.exists(path):
                try:
                    probe = sqlite3.connect(path)
                    found = probe.execute("SELECT count(*) FROM sqlite_master WHERE name = 'jobs_lease_expiry'").fetchone()[0]
                    probe.close()
                    if found:
                        break
                except sqlite3.Error:
                    pass
            time.sleep(0.2)
        else:
            raise SystemExit("the manager made no database within 30 s")
    finally:
        manager.send_signal(signal.SIGTERM)
        manager.wait(timeout=30)
    return path

def run(template, directory, name, variant, jobs):
    path = os.path.join(directory, "floor.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    # The backup API copies what the template's write-ahead log holds too.
    db = sqlite3.connect(path, isolation_level=None)
    source = sqlite3.connect(template)
    source.backup(db)
    source.close()
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -65536")
    for index in variant.get("drop", []):
        db.execute(f"DROP INDEX {index}")
    for statement in variant.get("create", []):
        db.execute(statement)
    columns = ", ".join(row[1] for row in db.execute("PRAGMA table_info(jobs)"))
    returning = "seq, id, queue, task, status, started_at, finished_at, origin, parent_id, webhook_url" if variant.get("slim") else columns
    tasks = ["noop"] + [f"task{i}" for i in range(19)]
    arm = ("SELECT seq, priority FROM (SELECT seq, priority FROM jobs WHERE queue = ? AND status = 'queued' AND task = ? "
           "AND run_at <= ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY priority DESC, seq LIMIT ?)")
    claim = (f"UPDATE jobs SET status = 'running', host_id = ?, lease_expires_at = ?, started_at = ?, attempts = attempts + 1, "
             f"lease = lease + 1, progress = NULL, progress_message = NULL WHERE seq IN (SELECT seq FROM ("
             f"{' UNION ALL '.join([arm] * len(tasks))}) ORDER BY priority DESC, seq LIMIT ?) RETURNING {returning}")
    end = ("WITH r(r_id, r_lease, r_status, r_result, r_error, r_plugin_name, r_plugin_version, r_plugin_sha256) AS (VALUES "
           + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * 64) +
           ") UPDATE jobs SET status = r_status, result = r_result, error = r_error, finished_at = ?, lease_expires_at = NULL, "
           "plugin_name = COALESCE(r_plugin_name, plugin_name), plugin_version = COALESCE(r_plugin_version, plugin_version), "
           "plugin_sha256 = COALESCE(r_plugin_sha256, plugin_sha256) FROM r WHERE jobs.id = r_id AND jobs.lease = r_lease "
           f"AND jobs.host_id = ? AND jobs.status = 'running' RETURNING {returning}")
    insert = "INSERT INTO jobs (id, queue, task, args, status, created_at, origin) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * 100)
    plugin = ["TestTasks", "1.0.0", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
    spent = {"insert": 0.0, "claim": 0.0, "end": 0.0}
    now = time.time()
    done = 0
    while done < jobs:
        rows = [[uuid.uuid4().hex[:26], "bench", "noop", "{}", "queued", now, "api"] for _ in range(1000)]
        started = time.perf_counter()
        db.execute("BEGIN")
        for first in range(0, 1000, 100):
            db.execute(insert, [value for row in rows[first:first + 100] for value in row])
        db.execute("COMMIT")
        spent["insert"] += time.perf_counter() - started
        arguments = ["host", now + 30, now]
        for task in tasks:
            arguments += ["bench", task, now, now, 1024]
        started = time.perf_counter()
        db.execute("BEGIN")
        claimed = [row[1] for row in db.execute(claim, arguments + [1024]).fetchall()]
        db.execute("COMMIT")
        spent["claim"] += time.perf_counter() - started
        started = time.perf_counter()
        for report in range(0, len(claimed), 512):
            db.execute("BEGIN")
            part = claimed[report:report + 512]
            for chunk in range(0, len(part), 64):
                ids = part[chunk:chunk + 64]
                values = [value for job in ids for value in [job, 1, "completed", "null", None] + plugin]
                values += [None] * ((64 - len(ids)) * 8) + [now, "host"]
                db.execute(end, values).fetchall()
            db.execute("COMMIT")
        spent["end"] += time.perf_counter() - started
        done += len(claimed)
    db.close()
    micro = {key: value / done * 1e6 for key, value in spent.items()}
    print(f"{name:>24}: insert {micro['insert']:5.1f} µs, claim {micro['claim']:5.1f} µs, end {micro['end']:5.1f} µs, "
          f"all three {sum(micro.values()):5.1f} µs per job")

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--easyjobs", default=".build-release/release/easyjobs")
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="easyjobs-sqlite-floor-") as directory:
        template = make_schema(options.easyjobs, directory)
        print(f"SQLite {sqlite3.sqlite_version}, {options.jobs} jobs per variant, {options.rounds} rounds")
        for _ in range(options.rounds):
            for name, variant in VARIANTS.items():
                run(template, directory, name, variant, options.jobs)

if __name__ == "__main__":
    main()
