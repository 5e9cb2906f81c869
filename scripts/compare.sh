#!/usr/bin/env bash
# EasyJobs against a Python peer from PyPI (issue 14): the same workloads, one after the other in
# one invocation, and a table of the ratios.
#
#   scripts/compare.sh                          # N=20000 jobs, C=3000 chains, 3 runs, peer huey
#   scripts/compare.sh --jobs 5000 --chains 500 --runs 1
#
# Options (each also as an environment variable):
#   --jobs N      COMPARE_JOBS     no-op jobs per throughput run (default 20000)
#   --chains C    COMPARE_CHAINS   concurrent 3-step chains per run (default 3000)
#   --runs R      COMPARE_RUNS     repetitions; both sides report medians (default 3)
#   --peer NAME   COMPARE_PEER     the peer: huey (default; the only one so far)
#   --timeout S   COMPARE_TIMEOUT  longest run of each benchmark in seconds (default 900); past it
#                                  the benchmark's process group is stopped
#
# Environment only:
#   EASYJOBS_SUMMARY=PATH  take this existing easyjobs-bench --summary JSON instead of building and
#                          running easyjobs-bench (also how the table is tested without Swift)
#   PEER_SUMMARY=PATH      take this existing peer summary instead of running the peer
#   EASYJOBS_BUILD=DIR     where easyjobs-bench, easyjobs, libTestTasks.so and libVersioned.so are
#                          (default .build-release/release, built here when missing)
#   HUEY_VERSION           the huey installed in the venv (default 3.5.4)
#
# What it does:
#   1. a Python venv in .build-peers/venv with the peer from PyPI (pip), unless PEER_SUMMARY is set;
#   2. unless EASYJOBS_SUMMARY is set: `swift build -c release --scratch-path .build-release` (every
#      product, as scripts/bench.sh builds them; incremental), then
#      easyjobs-bench --jobs N --runs R --chains C --summary … --reloads 0 --subprocess-samples 0
#      (a manager with SQLite and a host, on 127.0.0.1);
#   3. the peer's benchmark, Benchmarks/peers/huey_bench.py, with the same N, C and R (huey with
#      SqliteHuey in a temporary file, its consumer a child process; no server, no network);
#   4. the table: workload, EasyJobs, peer, ratio, where a ratio above 1 always means EasyJobs is
#      ahead (EasyJobs/peer for rates, peer/EasyJobs for latency).
# Summaries, logs and the table are kept in .build-peers/results/<time>/.
# Every benchmark runs under `timeout` in a process group of its own, and that group (processes
# this script started, found by its id) is killed when the benchmark ends or the script is stopped.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

log() { echo "compare.sh: $*" >&2; }
die() { log "$*"; exit 1; }

JOBS=${COMPARE_JOBS:-20000}
CHAINS=${COMPARE_CHAINS:-3000}
RUNS=${COMPARE_RUNS:-3}
PEER=${COMPARE_PEER:-huey}
LIMIT=${COMPARE_TIMEOUT:-900}
HUEY_VERSION=${HUEY_VERSION:-3.5.4}

while [ $# -gt 0 ]; do
    case "$1" in
        --jobs) JOBS=$2; shift 2 ;;
        --chains) CHAINS=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --peer) PEER=$2; shift 2 ;;
        --timeout) LIMIT=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
for value in "$JOBS" "$CHAINS" "$RUNS" "$LIMIT"; do
    [[ $value =~ ^[0-9]+$ ]] && [ "$value" -gt 0 ] || die "--jobs, --chains, --runs and --timeout take positive integers, not '$value'"
done
case "$PEER" in
    huey) PEER_SCRIPT=Benchmarks/peers/huey_bench.py; PEER_PACKAGE="huey==$HUEY_VERSION"; PEER_LABEL=huey ;;
    *) die "unknown peer '$PEER' (known: huey)" ;;
esac

RESULTS=$ROOT/.build-peers/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$RESULTS"

# The process group of the benchmark running now: `timeout` makes one of its own and leads it.
GROUP=""
stop_group() {
    if [ -n "$GROUP" ]; then
        kill -TERM -- "-$GROUP" 2>/dev/null || true
        sleep 1
        kill -KILL -- "-$GROUP" 2>/dev/null || true
        GROUP=""
    fi
}
trap 'stop_group; exit 130' INT
trap 'stop_group; exit 143' TERM

# run_bounded LABEL LOG COMMAND…: runs COMMAND under `timeout $LIMIT`, its output to the terminal and LOG;
# then kills whatever it left in its process group (e.g. a manager whose benchmark crashed).
run_bounded() {
    local label=$1 logfile=$2; shift 2
    local rc=0
    timeout --kill-after=15 "$LIMIT" "$@" > >(tee "$logfile") 2>&1 &
    GROUP=$!
    wait "$GROUP" || rc=$?
    kill -KILL -- "-$GROUP" 2>/dev/null || true
    GROUP=""
    if [ "$rc" -eq 124 ]; then log "$label took longer than $LIMIT s and was stopped"; fi
    return "$rc"
}

# --- EasyJobs -----------------------------------------------------------------------------------
if [ -n "${EASYJOBS_SUMMARY:-}" ]; then
    [ -f "$EASYJOBS_SUMMARY" ] || die "EASYJOBS_SUMMARY=$EASYJOBS_SUMMARY: no such file"
    cp "$EASYJOBS_SUMMARY" "$RESULTS/easyjobs.json"
    log "EasyJobs: the existing summary $EASYJOBS_SUMMARY (easyjobs-bench not run)"
else
    BUILD=${EASYJOBS_BUILD:-$ROOT/.build-release/release}
    if [ -z "${EASYJOBS_BUILD:-}" ]; then
        # Every product of the release configuration, as scripts/bench.sh builds it (incremental:
        # quick when nothing changed).
        command -v swift >/dev/null || die "no swift on PATH to build the benchmark"
        log "building the release configuration (.build-release)"
        swift build -c release --scratch-path "$ROOT/.build-release" >&2
    fi
    for file in easyjobs-bench easyjobs libTestTasks.so libVersioned.so; do
        [ -e "$BUILD/$file" ] || die "$BUILD/$file is missing"
    done
    "$BUILD/easyjobs-bench" --help 2>&1 | grep -q -- '--summary' \
        || die "$BUILD/easyjobs-bench has no --summary option: build a version that has it, or pass EASYJOBS_SUMMARY"
    log "EasyJobs: easyjobs-bench --jobs $JOBS --chains $CHAINS --runs $RUNS"
    run_bounded easyjobs-bench "$RESULTS/easyjobs.log" "$BUILD/easyjobs-bench" --jobs "$JOBS" --chains "$CHAINS" --runs "$RUNS" \
        --reloads 0 --subprocess-samples 0 --summary "$RESULTS/easyjobs.json" \
        || die "easyjobs-bench failed (log: $RESULTS/easyjobs.log)"
fi

# --- the peer -----------------------------------------------------------------------------------
if [ -n "${PEER_SUMMARY:-}" ]; then
    [ -f "$PEER_SUMMARY" ] || die "PEER_SUMMARY=$PEER_SUMMARY: no such file"
    cp "$PEER_SUMMARY" "$RESULTS/$PEER.json"
    log "$PEER_LABEL: the existing summary $PEER_SUMMARY (not run)"
else
    VENV=$ROOT/.build-peers/venv
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating the venv $VENV"
        python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    fi
    if ! "$VENV/bin/python" -m pip show "${PEER_PACKAGE%%==*}" 2>/dev/null | grep -qx "Version: ${PEER_PACKAGE#*==}"; then
        log "installing $PEER_PACKAGE from PyPI into $VENV"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$PEER_PACKAGE" >&2
    fi
    log "$PEER_LABEL: $PEER_SCRIPT --jobs $JOBS --chains $CHAINS --runs $RUNS"
    run_bounded "$PEER_SCRIPT" "$RESULTS/$PEER.log" "$VENV/bin/python" "$ROOT/$PEER_SCRIPT" --jobs "$JOBS" --chains "$CHAINS" --runs "$RUNS" \
        --summary "$RESULTS/$PEER.json" \
        || die "$PEER_SCRIPT failed (log: $RESULTS/$PEER.log)"
fi

# --- the table ----------------------------------------------------------------------------------
python3 - "$RESULTS/easyjobs.json" "$RESULTS/$PEER.json" "$PEER_LABEL" <<'EOF' | tee "$RESULTS/table.txt"
import json, sys

ours = json.load(open(sys.argv[1]))
peer = json.load(open(sys.argv[2]))
name = sys.argv[3]

# key, workload, unit, higher is better
ROWS = [
    ("single_jobs_per_s", "no-op jobs, one enqueue each", "jobs/s", True),
    ("batch_jobs_per_s", "no-op jobs, enqueued in batches", "jobs/s", True),
    ("chain_p50_ms", "3-step chain p50, one at a time", "ms", False),
    ("chains_per_s", "3-step chains, concurrent", "chains/s", True),
]


def number(summary, key):
    value = summary.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value else None


def show(value, unit):
    if value is None:
        return "n/a"
    return "%.2f" % value if unit == "ms" else "{:,.0f}".format(value)


lines = [("workload", "EasyJobs", name, "ratio")]
for key, label, unit, higher in ROWS:
    a, b = number(ours, key), number(peer, key)
    if a is None or b is None or (a if not higher else b) == 0:
        ratio = "n/a"
    else:
        ratio = "%.2fx" % (a / b if higher else b / a)
    lines.append(("%s (%s)" % (label, unit), show(a, unit), show(b, unit), ratio))

widths = [max(len(row[i]) for row in lines) for i in range(4)]
for index, row in enumerate(lines):
    print("  ".join([row[0].ljust(widths[0])] + [cell.rjust(widths[i]) for i, cell in enumerate(row) if i > 0]))
    if index == 0:
        print("  ".join("-" * w for w in widths))
print()
print("ratio: EasyJobs/%s for rates, %s/EasyJobs for the latency; above 1 means EasyJobs is ahead." % (name, name))
for key in ("jobs", "chains"):
    if ours.get(key) != peer.get(key):
        print("note: %s differ: EasyJobs %s, %s %s" % (key, ours.get(key), name, peer.get(key)))
if number(peer, "batch_jobs_per_s") is None and isinstance(peer.get("setup"), dict) and peer["setup"].get("batch"):
    print("%s batch: %s" % (name, peer["setup"]["batch"]))
EOF
log "summaries, logs and this table: $RESULTS"
