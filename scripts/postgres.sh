#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store tests.
#
#   eval "$(scripts/postgres.sh start)"     # starts one, prints the exports below
#   scripts/postgres.sh stop "$EASYJOBS_TEST_POSTGRES_DIR"
#
# `start` installs PostgreSQL (Debian's package) when no initdb is found, creates a cluster in a
# fresh directory under /tmp, runs it on a free port of 127.0.0.1 with trust authentication and
# durability off (fsync=off: a test database need not survive a crash) and deadlocks detected
# after 100 ms rather than 1 s (tests make managers deadlock on purpose), creates the database
# easyjobs_test and prints:
#
#   export EASYJOBS_TEST_POSTGRES=postgres://easyjobs@127.0.0.1:<port>/easyjobs_test
#   export EASYJOBS_TEST_POSTGRES_DIR=<directory>
#
# PostgreSQL refuses to run as root, so under root (CI) the cluster belongs to the `postgres`
# system user the package creates (or to `easyjobs-pg`, created here, when there is none).
# `stop` stops the cluster of a directory by its pid file and deletes the directory.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

# The directory of initdb, pg_ctl and postgres: on PATH, else Debian's versioned directory.
find_bindir() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return
    fi
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; fi
}

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$OWNER" -- "$@"
    else
        "$@"
    fi
}

start() {
    local bindir
    bindir=$(find_bindir)
    if [ -z "$bindir" ]; then
        if [ "$(id -u)" -ne 0 ]; then
            log "PostgreSQL is not installed and installing it needs root: apt-get install postgresql"
            exit 1
        fi
        log "installing PostgreSQL"
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2
        bindir=$(find_bindir)
        if [ -z "$bindir" ]; then
            log "PostgreSQL was installed but no initdb was found"
            exit 1
        fi
    fi

    OWNER=$(id -un)
    if [ "$(id -u)" -eq 0 ]; then
        if id postgres >/dev/null 2>&1; then
            OWNER=postgres
        else
            id easyjobs-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin easyjobs-pg
            OWNER=easyjobs-pg
        fi
    fi

    local dir port
    dir=$(mktemp -d /tmp/easyjobs-pg.XXXXXX)
    chmod 700 "$dir"
    [ "$(id -u)" -eq 0 ] && chown "$OWNER" "$dir"
    # A port the kernel just handed out and released: free unless another process takes it in between.
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

    as_owner "$bindir/initdb" -D "$dir/data" -U easyjobs --auth=trust --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        log "initdb failed"
        exit 1
    }
    if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c deadlock_timeout=100ms" \
        start >&2; then
        cat "$dir/server.log" >&2 || true
        log "the server did not start"
        exit 1
    fi
    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U easyjobs easyjobs_test
    echo "export EASYJOBS_TEST_POSTGRES=postgres://easyjobs@127.0.0.1:$port/easyjobs_test"
    echo "export EASYJOBS_TEST_POSTGRES_DIR=$dir"
    log "PostgreSQL on 127.0.0.1:$port (data in $dir); stop it with: scripts/postgres.sh stop $dir"
}

stop() {
    local dir=${1:-}
    if [ -z "$dir" ]; then
        log "usage: scripts/postgres.sh stop <directory>"
        exit 2
    fi
    # Only a directory this script made: stop deletes it.
    case "$dir" in
        /tmp/easyjobs-pg.*) ;;
        *) log "not a directory of postgres.sh: $dir"; exit 2 ;;
    esac
    [ -d "$dir" ] || return 0
    local pidfile="$dir/data/postmaster.pid"
    if [ -f "$pidfile" ]; then
        local pid
        pid=$(head -n 1 "$pidfile")
        # SIGINT is PostgreSQL's fast shutdown: sessions are ended, nothing is waited for.
        if kill -INT "$pid" 2>/dev/null; then
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then
                log "the server (pid $pid) did not stop; killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
    fi
    rm -rf "$dir"
}

case "${1:-start}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *)
        log "usage: scripts/postgres.sh [start | stop <directory>]"
        exit 2
        ;;
esac
