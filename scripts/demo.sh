#!/usr/bin/env bash
# The demo: a manager and a host in one process (`easyjobs up`) on the embedded SQLite store,
# with the seed's ETL plugin on queue ETL. Triggers `extract` once it is up; Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

for package in libsqlite3-dev libffi-dev; do
    if ! dpkg -s "$package" >/dev/null 2>&1; then
        apt-get update && apt-get install -y --no-install-recommends "$package"
    fi
done
# The same build as the test command's, so running one after the other rebuilds nothing.
swift build --build-tests
bin=$(swift build --show-bin-path)

mkdir -p .easyjobs/plugins
cp "$bin/libETL.so" .easyjobs/plugins/libETL.so.tmp
mv .easyjobs/plugins/libETL.so.tmp .easyjobs/plugins/libETL.so

(
    # Ready once the host has registered the queue's tasks, not when the port opens: the manager
    # listens before the host beside it in the process has registered (the trigger then failed
    # with "unknown queue 'ETL'").
    for _ in $(seq 1 200); do
        "$bin/easyjobs" tasks 2>/dev/null | grep -q '^ETL  *extract' && break
        sleep 0.1
    done
    echo "--- triggering extract: $bin/easyjobs run ETL extract --json '{\"url\": \"http://stats\"}' --wait"
    "$bin/easyjobs" run ETL extract --json '{"url": "http://stats"}' --wait
) &
exec "$bin/easyjobs" up --queue ETL --plugins .easyjobs/plugins
