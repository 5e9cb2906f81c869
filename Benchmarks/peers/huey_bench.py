#!/usr/bin/env python3
"""The workloads of `easyjobs-bench --summary` on huey, for `scripts/compare.sh` (issue 14).

    .build-peers/venv/bin/python Benchmarks/peers/huey_bench.py --jobs 20000 --chains 3000 --runs 3 \
        --summary /tmp/huey.json

huey (from PyPI) keeps its queue and results in SqliteHuey, a SQLite file in a fresh temporary
directory: no server. Its consumer is a separate process, `huey_consumer huey_app.huey`, started
here with `--workers` workers (default 2 x cores) of `--worker-type` (default thread, which was the
faster on this project's 2-core machine: see Benchmarks/peers/huey-results.txt) and stopped by its PID at the end.
Its poll delay when the queue is empty is 1..5 ms here (huey's default: 0.1..10 s, which would put
up to seconds into every idle latency); EasyJobs' host is woken by a long poll instead.

Workloads, as in easyjobs-bench:
  single   --jobs no-op tasks, each enqueued by its own call (one SQLite transaction each) from
           --producers concurrent threads; the clock stops when all results are stored.
  batch    none: huey has no bulk enqueue (Task.map() is a loop of single enqueues), so
           batch_jobs_per_s is null.
  chain    3-step pipelines, step.s(0).then(step).then(step): --chain-samples of them one at a
           time (p50 from enqueueing the pipeline to the last step's result stored, seen by polling
           the result every 1 ms), then --chains enqueued by the producers at once (chains/s until
           every last step's result is stored).
single and the concurrent chains are repeated --runs times; the medians are reported.

The summary (--summary) has easyjobs-bench's keys: single_jobs_per_s, batch_jobs_per_s (null),
chain_p50_ms, chains_per_s, jobs, chains; and more about the set-up and each run.
"""

import argparse
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    cores = os.cpu_count() or 1
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=20000, help="no-op jobs per single-enqueue run (default 20000)")
    p.add_argument("--chains", type=int, default=3000, help="concurrent 3-step chains per throughput run (default 3000)")
    p.add_argument("--runs", type=int, default=3, help="repetitions of the throughput runs; medians reported (default 3)")
    p.add_argument("--chain-samples", type=int, default=200, help="sequential chains in the latency run (default 200)")
    p.add_argument("--producers", type=int, default=4,
                   help="concurrent producer threads (default 4: more only add GIL contention in the one producer process; 32, easyjobs-bench's --clients, was ~10%% slower)")
    p.add_argument("--workers", type=int, default=2 * cores, help="consumer workers (default 2 x cores = %d)" % (2 * cores))
    p.add_argument("--worker-type", choices=("thread", "process"), default="thread", help="consumer worker type (default thread)")
    p.add_argument("--sync", choices=("normal", "default", "off"), default="normal",
                   help="SQLite durability: normal = WAL + synchronous=NORMAL like EasyJobs (default); default = huey's own (WAL, synchronous=FULL)")
    p.add_argument("--delay", type=float, default=0.001, help="consumer's first poll delay when the queue is empty, s (huey's default 0.1)")
    p.add_argument("--max-delay", type=float, default=0.005, help="consumer's longest poll delay, s (huey's default 10)")
    p.add_argument("--backoff", type=float, default=1.15, help="consumer's poll back-off factor (huey's default 1.15)")
    p.add_argument("--timeout", type=float, default=300, help="longest wait for one run's results, s (default 300)")
    p.add_argument("--summary", help="write the JSON summary here")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (database, consumer log)")
    return p.parse_args()


class Consumer:
    """huey_consumer as a child process in a session of its own; stopped by its PID (and its group, which is its PID)."""

    def __init__(self, args, work, env):
        consumer = os.path.join(os.path.dirname(sys.executable), "huey_consumer")
        command = [consumer] if os.access(consumer, os.X_OK) else [sys.executable, "-m", "huey.bin.huey_consumer"]
        command += ["huey_app.huey", "--workers", str(args.workers), "--worker-type", args.worker_type,
                    "--delay", str(args.delay), "--max-delay", str(args.max_delay), "--backoff", str(args.backoff),
                    "--no-periodic", "--quiet"]
        self.log_path = os.path.join(work, "consumer.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(command, cwd=HERE, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def check(self):
        if self.proc.poll() is not None:
            raise SystemExit("huey_consumer exited with %s; its log:\n%s" % (self.proc.returncode, self.tail()))

    def tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            # SIGTERM: huey's immediate shutdown (SIGINT would be the graceful one).
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # Worker processes (--worker-type process) are in the consumer's own process group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


class Results:
    """A connection of its own to huey's SQLite file, to watch results being stored."""

    def __init__(self, path, queue):
        self.conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.queue = queue

    def count(self):
        return self.conn.execute("select count(*) from kv where queue = ?", (self.queue,)).fetchone()[0]

    def has(self, key):
        return self.conn.execute("select 1 from kv where queue = ? and key = ?", (self.queue, key)).fetchone() is not None

    def keys(self):
        return {k for (k,) in self.conn.execute("select key from kv where queue = ?", (self.queue,))}


def produce(count, producers, make):
    """Calls make() count times from `producers` threads; returns what they returned, per thread."""
    out = [[] for _ in range(producers)]
    errors = []

    def work(index, share):
        try:
            for _ in range(share):
                out[index].append(make())
        except BaseException as exc:  # reported after join
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, count // producers + (1 if i < count % producers else 0)))
               for i in range(producers)]
    for t in threads:
        t.daemon = True  # a SIGTERM mid-run must not wait for them
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out


def wait_until(condition, timeout, consumer, what, interval=0.025):
    deadline = time.monotonic() + timeout
    while not condition():
        consumer.check()
        if time.monotonic() > deadline:
            raise SystemExit("%s: not done within %.0f s" % (what, timeout))
        time.sleep(interval)


def median(values):
    return statistics.median(values) if values else None


def percentile(values, p):
    s = sorted(values)
    return s[min(max(int(round(p / 100 * (len(s) - 1))), 0), len(s) - 1)]


def main():
    args = parse_args()
    work = tempfile.mkdtemp(prefix="huey-bench-")
    db = os.path.join(work, "huey.db")
    os.environ["HUEY_BENCH_DB"] = db
    os.environ["HUEY_BENCH_SYNC"] = args.sync
    env = dict(os.environ)
    env["PYTHONPATH"] = HERE + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    sys.path.insert(0, HERE)
    import huey as huey_package
    from huey_app import huey, noop, step

    # A SIGTERM (e.g. compare.sh's timeout) still stops the consumer.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    consumer = Consumer(args, work, env)
    try:
        results = Results(db, huey.name)
        print("huey_bench: huey %s, SqliteHuey %s (WAL, synchronous=%s), consumer pid %d: %d %s workers, poll delay %g..%g s; "
              "%d producer threads; %d cores" % (
                  huey_package.__version__, db, {"normal": "NORMAL", "default": "FULL (huey's default)", "off": "OFF"}[args.sync],
                  consumer.proc.pid, args.workers, args.worker_type, args.delay, args.max_delay, args.producers, os.cpu_count()),
              flush=True)

        # Warm-up: the consumer is up, the file and its caches are warm.
        produce(500, args.producers, noop)
        wait_until(lambda: results.count() >= 500, 60, consumer, "warm-up")
        huey.storage.flush_results()

        # Sequential chains on an idle system.
        latencies = []
        for _ in range(args.chain_samples):
            sent = time.perf_counter()
            group = huey.enqueue(step.s(0).then(step).then(step))
            last = list(group)[-1].id
            deadline = time.monotonic() + 30
            while not results.has(last):
                if time.monotonic() > deadline:
                    consumer.check()
                    raise SystemExit("a chain did not finish within 30 s")
                time.sleep(0.001)
            latencies.append((time.perf_counter() - sent) * 1000)
            value = huey.result(last)
            if value != 3:
                raise SystemExit("a chain ended with %r, not 3" % (value,))
            time.sleep(0.01)
        chain_p50 = percentile(latencies, 50) if latencies else None
        if latencies:
            print("sequential 3-step chains over %d: p50 %.2f ms, p95 %.2f ms (enqueue to the last result stored)" % (
                len(latencies), chain_p50, percentile(latencies, 95)), flush=True)
        huey.storage.flush_results()

        single = []
        for run in range(1, args.runs + 1):
            start = time.perf_counter()
            produce(args.jobs, args.producers, noop)
            enqueued = time.perf_counter() - start
            wait_until(lambda: results.count() >= args.jobs, args.timeout, consumer, "single run %d" % run)
            total = time.perf_counter() - start
            single.append({"enqueue_jobs_per_s": args.jobs / enqueued, "jobs_per_s": args.jobs / total})
            print("single run %d: %d no-op jobs, %d producers: enqueue %.0f jobs/s, end to end %.0f jobs/s" % (
                run, args.jobs, args.producers, args.jobs / enqueued, args.jobs / total), flush=True)
            huey.storage.flush_results()

        chain_runs = []
        for run in range(1, args.runs + 1):
            start = time.perf_counter()
            groups = produce(args.chains, args.producers, lambda: huey.enqueue(step.s(0).then(step).then(step)))
            enqueued = time.perf_counter() - start
            wait_until(lambda: results.count() >= 3 * args.chains, args.timeout, consumer, "chain run %d" % run)
            total = time.perf_counter() - start
            stored = results.keys()
            lasts = [list(g)[-1].id for per_thread in groups for g in per_thread]
            missing = sum(1 for k in lasts if k not in stored)
            if missing:
                raise SystemExit("chain run %d: %d chains without a last result" % (run, missing))
            chain_runs.append({"enqueue_chains_per_s": args.chains / enqueued, "chains_per_s": args.chains / total})
            print("chain run %d: %d concurrent 3-step chains: enqueue %.0f chains/s, end to end %.0f chains/s (%.0f steps/s)" % (
                run, args.chains, args.chains / enqueued, args.chains / total, 3 * args.chains / total), flush=True)
            huey.storage.flush_results()

        summary = {
            "peer": "huey",
            "version": huey_package.__version__,
            "single_jobs_per_s": median([r["jobs_per_s"] for r in single]),
            "batch_jobs_per_s": None,
            "chain_p50_ms": chain_p50,
            "chains_per_s": median([r["chains_per_s"] for r in chain_runs]),
            "jobs": args.jobs,
            "chains": args.chains,
            "runs": args.runs,
            "chain_samples": len(latencies),
            "chain_p95_ms": percentile(latencies, 95) if latencies else None,
            "single_runs": single,
            "chain_runs": chain_runs,
            "setup": {"storage": "SqliteHuey (temporary file)", "synchronous": args.sync, "workers": args.workers,
                      "worker_type": args.worker_type, "producers": args.producers, "poll_delay_s": [args.delay, args.max_delay],
                      "backoff": args.backoff, "cores": os.cpu_count(), "batch": "none: huey has no bulk enqueue"},
        }
        print("huey medians of %d runs: single %.0f jobs/s, chains %.0f chains/s; chain p50 %s ms" % (
            args.runs, summary["single_jobs_per_s"] or 0, summary["chains_per_s"] or 0,
            "%.2f" % chain_p50 if chain_p50 is not None else "-"), flush=True)
        if args.summary:
            with open(args.summary, "w") as f:
                json.dump(summary, f, indent=2)
                f.write("\n")
    finally:
        consumer.stop()
        if args.keep:
            print("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
