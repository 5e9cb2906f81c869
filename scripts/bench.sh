#!/usr/bin/env bash
# The benchmark in one command: builds the release configuration (every product: easyjobs, the
# test plugins and easyjobs-bench; SwiftPM builds only the last of several --product flags) in
# .build-release, installs wrk when it is missing, and runs easyjobs-bench with the arguments
# given, e.g.
#
#   scripts/bench.sh --jobs 20000 --runs 3
#   scripts/bench.sh --claim-cost 1000,100000,1000000
set -euo pipefail
cd "$(dirname "$0")/.."

for package in libsqlite3-dev libffi-dev wrk; do
    if ! dpkg -s "$package" >/dev/null 2>&1; then
        apt-get update && apt-get install -y --no-install-recommends "$package"
    fi
done

swift build -c release --scratch-path .build-release
exec .build-release/release/easyjobs-bench "$@"
