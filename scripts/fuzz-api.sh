#!/usr/bin/env bash
# Fuzzes a live manager's REST API with schemathesis.
#
#   scripts/fuzz-api.sh [BUILD_DIR]
#
# BUILD_DIR (default .build/debug under the repo root) holds the `easyjobs` executable and the plugins
# libETL.so and libTestTasks.so. They are copied into a fresh temp dir first, so a rebuild during the run
# does not matter. The script starts a manager on 127.0.0.1 (a free port), a host on queue ETL (libETL.so)
# and one on queue test (libTestTasks.so), waits until both are online (their tasks then appear in
# /openapi.json as POST /{queue}/task/{task}), and runs schemathesis against URL/openapi.json.
#
# Checks: not_a_server_error, status_code_conformance and content_type_conformance are all run and reported.
# The run fails (exit 1) on: any 5xx response; a failure of a gating check (FUZZ_GATE, default
# not_a_server_error,content_type_conformance: status_code_conformance is reported but does not gate,
# because the job endpoints still answer an undocumented 400 to a missing request_id); schemathesis errors
# (timeouts, refused connections) or an incomplete run; the manager or a host dying during the run
# (FUZZ_ALLOW_HOST_CRASH=1 makes a host crash a warning only).
#
# Knobs (environment): FUZZ_MAX_EXAMPLES (30), FUZZ_WORKERS (2), FUZZ_REQUEST_TIMEOUT (10 s),
# FUZZ_TIME_LIMIT (420 s for schemathesis; the whole script stays under 9 minutes), FUZZ_SEED (reproduce a
# run), FUZZ_GATE, FUZZ_ALLOW_HOST_CRASH, FUZZ_REPORT_DIR (copy the reports and the processes' logs there).
#
# The last line is `fuzz: N operations, M requests, K server errors`.
set -uo pipefail

readonly start=$SECONDS
readonly deadline=$((start + 540))   # the whole script: 9 minutes at most
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

build=${1:-.build/debug}
if [[ $build != /* ]]; then
    if [[ -n ${1:-} && -d $build ]]; then build=$(cd "$build" && pwd); else build="$repo/$build"; fi
fi
for f in easyjobs libETL.so libTestTasks.so; do
    [[ -f $build/$f ]] || { echo "fuzz: $build/$f not found (build first, or pass BUILD_DIR)" >&2; exit 2; }
done

max_examples=${FUZZ_MAX_EXAMPLES:-30}
workers=${FUZZ_WORKERS:-2}
request_timeout=${FUZZ_REQUEST_TIMEOUT:-10}
time_limit=${FUZZ_TIME_LIMIT:-420}
gate=${FUZZ_GATE:-not_a_server_error,content_type_conformance}
checks=not_a_server_error,status_code_conformance,content_type_conformance

# Nothing of the caller's EasyJobs settings (an API token, a data dir...) leaks into the processes started
# here, and nothing to 127.0.0.1 goes through a proxy.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^EASYJOBS_' || true)
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

if ! python3 -c 'import schemathesis' 2>/dev/null; then
    echo "fuzz: installing schemathesis"
    python3 -m pip install --quiet schemathesis || { echo "fuzz: could not install schemathesis" >&2; exit 2; }
fi
st_version=$(python3 -c 'import schemathesis; print(schemathesis.__version__)')
if [[ ${st_version%%.*} -lt 4 ]]; then
    echo "fuzz: schemathesis $st_version is older than 4; upgrading"
    python3 -m pip install --quiet --upgrade 'schemathesis>=4' || exit 2
    st_version=$(python3 -c 'import schemathesis; print(schemathesis.__version__)')
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/easyjobs-fuzz.XXXXXX")
pids=()       # every process this script started, in start order
names=()

cleanup() {
    local rc=$? i pid kids=()
    trap - EXIT INT TERM
    # Newest first: schemathesis, the hosts, then the manager. A host's children (subprocess jobs) are
    # collected before it goes, then ended by their own ids if they outlive it.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill -0 "$pid" 2>/dev/null || continue
        kids+=($(pgrep -P "$pid" 2>/dev/null || true))
        kill -TERM "$pid" 2>/dev/null
    done
    for _ in $(seq 1 50); do
        local alive=0
        for pid in "${pids[@]}" "${kids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}" "${kids[@]}"; do kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    if [[ -n ${FUZZ_REPORT_DIR:-} ]]; then
        mkdir -p "$FUZZ_REPORT_DIR" && cp -r "$tmp"/report "$tmp"/*.log "$FUZZ_REPORT_DIR"/ 2>/dev/null
        echo "fuzz: reports and logs copied to $FUZZ_REPORT_DIR"
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started() { pids+=("$1"); names+=("$2"); }

mkdir -p "$tmp/bin" "$tmp/plugins-etl" "$tmp/plugins-test" "$tmp/data" "$tmp/report"
cp "$build/easyjobs" "$tmp/bin/easyjobs"
cp "$build/libETL.so" "$tmp/plugins-etl/libETL.so"
cp "$build/libTestTasks.so" "$tmp/plugins-test/libTestTasks.so"
ej="$tmp/bin/easyjobs"

# The manager: a free port on 127.0.0.1; it prints "EasyJobs manager listening on http://127.0.0.1:PORT".
"$ej" manager --host 127.0.0.1 --port 0 --data-dir "$tmp/data" --secret fuzz-secret --no-schedules \
    >"$tmp/manager.out" 2>"$tmp/manager.log" &
started $! manager
url=
for _ in $(seq 1 300); do
    url=$(grep -m1 -o 'http://127\.0\.0\.1:[0-9]\+' "$tmp/manager.out" 2>/dev/null || true)
    [[ -n $url ]] && break
    kill -0 "${pids[0]}" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $url ]]; then
    echo "fuzz: the manager did not say where it listens within 30 s" >&2
    tail -n 20 "$tmp/manager.out" "$tmp/manager.log" >&2
    exit 2
fi
echo "fuzz: manager at $url"

EASYJOBS_ETL_SLEEP=0.01 "$ej" host --manager "$url" --secret fuzz-secret --plugins "$tmp/plugins-etl" \
    --queue ETL --name fuzz-etl --data-dir "$tmp/host-etl" --shutdown-grace 1 >"$tmp/host-etl.log" 2>&1 &
started $! host-etl
"$ej" host --manager "$url" --secret fuzz-secret --plugins "$tmp/plugins-test" \
    --queue test --name fuzz-test --data-dir "$tmp/host-test" --shutdown-grace 1 >"$tmp/host-test.log" 2>&1 &
started $! host-test

hosts_online() {
    curl -s --max-time 2 "$url/hosts" | python3 -c '
import json, sys
try:
    hosts = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
online = {h.get("name") for h in hosts if h.get("online") is True}
sys.exit(0 if {"fuzz-etl", "fuzz-test"} <= online else 1)'
}
ready=0
for _ in $(seq 1 60); do
    if hosts_online; then ready=1; break; fi
    sleep 0.5
done
if ((!ready)); then
    echo "fuzz: the hosts were not both online within 30 s" >&2
    curl -s --max-time 2 "$url/hosts" >&2; echo >&2
    tail -n 20 "$tmp/host-etl.log" "$tmp/host-test.log" >&2
    exit 2
fi
echo "fuzz: hosts fuzz-etl (ETL) and fuzz-test (test) online"

# The host protocol (registration, claims, heartbeats) needs a host session: leave it out if the document
# ever lists it. Today it does not.
if ! curl -s --max-time 5 "$url/openapi.json" >"$tmp/openapi.json"; then
    echo "fuzz: could not read $url/openapi.json" >&2; exit 2
fi
filters=()
if python3 -c 'import json,sys; sys.exit(0 if any(p.startswith("/hosts/") for p in json.load(open(sys.argv[1]))["paths"]) else 1)' \
    "$tmp/openapi.json"; then
    filters=(--exclude-path-regex '^/hosts/')
fi
operations_listed=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["paths"]; print(sum(len([m for m in v if m in ("get","put","post","delete","patch","head","options","trace")]) for v in d.values()))' "$tmp/openapi.json")

budget=$((deadline - SECONDS - 30))
((budget > time_limit)) && budget=$time_limit
if ((budget < 60)); then echo "fuzz: too little time left for schemathesis (${budget}s)" >&2; exit 2; fi

args=(run "$url/openapi.json" --url "$url"
    --checks "$checks"
    --max-examples "$max_examples" --workers "$workers" --request-timeout "$request_timeout"
    --generation-database none --no-color
    --report json,ndjson --report-dir "$tmp/report"
    --report-json-path "$tmp/report/run.json" --report-ndjson-path "$tmp/report/events.ndjson"
    "${filters[@]}")
[[ -n ${FUZZ_SEED:-} ]] && args+=(--seed "$FUZZ_SEED")
echo "fuzz: schemathesis $st_version, $operations_listed operations listed, at most ${budget}s:" \
    "schemathesis ${args[*]}"

# In the background so that a signal reaches the trap at once; `timeout` bounds it.
(cd "$tmp" && exec timeout -k 10 "$budget" python3 -m schemathesis.cli "${args[@]}") &
started $! schemathesis
wait "${pids[-1]}"
st_rc=$?
echo "fuzz: schemathesis exited with $st_rc"

failed=0
if ((st_rc == 124 || st_rc == 137)); then
    echo "fuzz: FAIL: schemathesis did not finish within ${budget}s; the figures below are partial"
    failed=1
fi

# Did anything that was started die under the fuzzing?
for i in 0 1 2; do
    if ! kill -0 "${pids[i]}" 2>/dev/null; then
        log="$tmp/${names[i]}.log"
        echo "fuzz: FAIL: the ${names[i]} process died during the run; its last words:"
        grep -a -m1 -E 'Fatal error|panic|Program crashed' "$log" | cut -c1-400 | sed 's/^/    /'
        grep -a -m1 -A6 -E '^Thread .* crashed:' "$log" | cut -c1-300 | sed 's/^/    /'
        if [[ ${names[i]} == host-* && ${FUZZ_ALLOW_HOST_CRASH:-0} == 1 ]]; then
            echo "fuzz: (FUZZ_ALLOW_HOST_CRASH=1: not failing for it)"
        else
            failed=1
        fi
    fi
done

# The figures and every failure, from the reports.
python3 - "$tmp/report/events.ndjson" "$tmp/report/run.json" "$gate" <<'EOF'
import base64, json, os, sys

events_path, run_path, gate = sys.argv[1], sys.argv[2], set(filter(None, sys.argv[3].split(",")))

def text(payload, limit=2000):
    if not payload:
        return ""
    if "$base64" in payload:
        raw = base64.b64decode(payload["$base64"])
        s = raw.decode("utf-8", "backslashreplace")
    else:
        s = str(payload.get("string", payload))
    return s if len(s) <= limit else s[:limit] + f"... ({len(s)} chars)"

requests, labels, server_errors = 0, set(), []
failures = {}   # check -> {(operation, message): (count, request, status, response body)}
if os.path.exists(events_path):
    for line in open(events_path, encoding="utf-8"):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        scenario = event.get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario.get("recorder") or {}
        interactions = recorder.get("interactions") or {}
        for case_id, it in interactions.items():
            requests += 1
            labels.add(recorder.get("label"))
            response = it.get("response") or {}
            if (response.get("status_code") or 0) >= 500:
                server_errors.append((recorder.get("label"), it))
        for case_id, results in (recorder.get("checks") or {}).items():
            for check in results:
                if check.get("status") == "success":
                    continue
                info = (check.get("failure_info") or {}).get("failure") or {}
                key = (info.get("operation") or recorder.get("label"), info.get("title", "") + ": " + info.get("message", ""))
                slot = failures.setdefault(check["name"], {})
                if key in slot:
                    slot[key][0] += 1
                else:
                    it = interactions.get(case_id) or {}
                    slot[key] = [1, it.get("request") or {}, (it.get("response") or {}).get("status_code"),
                                 text((it.get("response") or {}).get("content"), 500)]

run = {}
if os.path.exists(run_path):
    try:
        run = json.load(open(run_path, encoding="utf-8"))
    except ValueError:
        pass
operations = (run.get("operations") or {}).get("tested", len(labels))

def show_request(request):
    line = f"{request.get('method', '?')} {request.get('uri', '?')}"
    body = text(request.get("body"), 1000)
    return line + (f"\n      body: {body}" if body else "")

status = 0
for label, it in server_errors:
    response = it.get("response") or {}
    print(f"fuzz: SERVER ERROR {response.get('status_code')} on {label}")
    print(f"    request: {show_request(it.get('request') or {})}")
    print(f"    response: {text(response.get('content'))}")
if server_errors:
    status = 1

for name in sorted(failures):
    gating = name in gate
    for (operation, message), (count, request, code, body) in sorted(failures[name].items()):
        tag = "FAIL" if gating else "note (not gating)"
        print(f"fuzz: {tag}: {name} on {operation}: {message.replace(chr(10), '; ')} ({count} cases)")
        if request:
            print(f"    e.g. request: {show_request(request)}")
            print(f"    response: {code} {body}")
    if gating:
        status = 1

errors = run.get("errors") or []
for error in errors:
    print(f"fuzz: FAIL: schemathesis error: {json.dumps(error)[:1000]}")
if errors:
    status = 1
if not run:
    print("fuzz: FAIL: schemathesis wrote no run report")
    status = 1
elif not run.get("complete", False):
    print(f"fuzz: FAIL: the run is incomplete (stop reason: {run.get('stop_reason')})")
    status = 1
if run:
    print(f"fuzz: seed {run.get('seed')} (FUZZ_SEED={run.get('seed')} repeats this run's inputs)")
print(f"fuzz: {operations} operations, {requests} requests, {len(server_errors)} server errors")
sys.exit(status)
EOF
((failed |= $?))

if ((failed)); then echo "fuzz: FAILED"; else echo "fuzz: passed"; fi
exit "$failed"
