#!/usr/bin/env bash
# The long variants of the fault suite (docs/RELIABILITY.md): the fault tests at a larger scale,
# several rounds, then the API fuzzer. Prints every `fault:` figure and a summary.
#   scripts/faults.sh [ROUNDS] [SCALE]     defaults: 3 rounds at 5x (1000-job streams, 2500 enqueues)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
scale="${2:-5}"

swift build --build-tests
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for round in $(seq 1 "$rounds"); do
    echo "== round $round of $rounds (scale $scale)"
    EASYJOBS_FAULT_SCALE="$scale" swift test --skip-build --filter FaultTests 2>&1 | tee -a "$log" | grep -E "fault:|✘|Suite FaultTests" || true
done
echo "== fuzzing the API"
bash scripts/fuzz-api.sh .build/debug | tee -a "$log"
failures="$(grep -c "✘" "$log" || true)"
echo "faults: $rounds rounds at scale $scale, $failures failed expectations"
[ "$failures" -eq 0 ]
