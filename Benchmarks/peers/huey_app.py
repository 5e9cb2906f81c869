"""The huey application that `huey_bench.py` drives: one SqliteHuey and the benchmark's tasks.

The producer (huey_bench.py) and the consumer (`huey_consumer huey_app.huey`, started by
huey_bench.py as a child process) both import this module, so the tasks have the same names on
both sides. Both read their settings from the environment:

  HUEY_BENCH_DB    the SQLite file (huey_bench.py makes one in a temporary directory)
  HUEY_BENCH_SYNC  'normal' (default): WAL with synchronous=NORMAL, what EasyJobs' SQLite store
                   uses; 'default': huey's own setting (WAL, SQLite's default synchronous=FULL,
                   an fsync of the WAL at every commit); 'off': synchronous=OFF.
"""

import os

from huey import SqliteHuey
from huey.storage import SqliteStorage

SYNC = os.environ.get("HUEY_BENCH_SYNC", "normal")
SYNC_PRAGMAS = {"normal": "pragma synchronous=NORMAL", "off": "pragma synchronous=OFF", "default": None}
if SYNC not in SYNC_PRAGMAS:
    raise SystemExit("HUEY_BENCH_SYNC must be one of %s, not %r" % (", ".join(SYNC_PRAGMAS), SYNC))


class BenchSqliteStorage(SqliteStorage):
    """huey's SqliteStorage, unchanged but for the synchronous pragma chosen above."""

    def _create_connection(self):
        conn = super()._create_connection()
        if SYNC_PRAGMAS[SYNC]:
            conn.execute(SYNC_PRAGMAS[SYNC])
        return conn


class BenchHuey(SqliteHuey):
    storage_class = BenchSqliteStorage


# store_none: a no-op returns None, and huey stores no result for None unless told to; the
# benchmark counts stored results, as EasyJobs' does, so every job stores one.
huey = BenchHuey("bench", filename=os.environ.get("HUEY_BENCH_DB", "huey-bench.db"), store_none=True)


@huey.task()
def noop():
    return None


@huey.task()
def step(value=0):
    """One step of a chain: a pipeline passes the previous step's result as the argument."""
    return value + 1
