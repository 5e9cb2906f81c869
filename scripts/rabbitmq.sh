#!/usr/bin/env bash
# A throwaway RabbitMQ node for the AMQP client tests.
#
#   eval "$(scripts/rabbitmq.sh start)"     # starts one, prints the exports below
#   scripts/rabbitmq.sh stop "$EASYJOBS_TEST_RABBITMQ_DIR"
#   scripts/rabbitmq.sh ctl "$EASYJOBS_TEST_RABBITMQ_DIR" close_all_connections why   # rabbitmqctl on that node
#
# `start` installs RabbitMQ (Debian's rabbitmq-server) when it is missing, then runs a node of
# its own in a fresh directory under /tmp: its own data (mnesia), logs, configuration, Erlang
# cookie (HOME) and epmd (ERL_EPMD_PORT), no plugins, AMQP on a free port of 127.0.0.1 and
# Erlang distribution on another free port, named easyjobs-<random>@localhost so that it never
# meets a system node or another test node. It waits for `rabbitmqctl await_startup` and prints:
#
#   export EASYJOBS_TEST_RABBITMQ=amqp://guest:guest@127.0.0.1:<port>/
#   export EASYJOBS_TEST_RABBITMQ_DIR=<directory>
#
# The guest user may only log in from localhost, which is where the tests connect from.
# Under root (CI) the node runs as the `rabbitmq` user the package creates (or `easyjobs-mq`,
# created here). `stop` stops the node of a directory, its epmd, and deletes the directory.
#
# Measured on a 2-core container: installing (apt-get update + install, Erlang included) ~50 s;
# starting a node until await_startup succeeds ~6-10 s.
set -euo pipefail

log() { echo "rabbitmq.sh: $*" >&2; }

RABBIT_BIN=/usr/lib/rabbitmq/bin

free_port() {
    # A port the kernel just handed out and released: free unless another process takes it in between.
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs a command as the node's owner with the node's environment (cookie, epmd, files).
as_owner() {
    # shellcheck disable=SC1091
    local env_args=()
    while IFS= read -r line; do env_args+=("$line"); done <"$DIR/env"
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$OWNER" -- env "${env_args[@]}" "$@"
    else
        env "${env_args[@]}" "$@"
    fi
}

start() {
    if [ ! -x "$RABBIT_BIN/rabbitmq-server" ]; then
        if [ "$(id -u)" -ne 0 ]; then
            log "RabbitMQ is not installed and installing it needs root: apt-get install rabbitmq-server"
            exit 1
        fi
        log "installing RabbitMQ"
        apt-get update >&2
        # The package's service is not started: there is no init system in a container, and
        # the node below is the only one the tests use.
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server >&2
    fi

    OWNER=$(id -un)
    if [ "$(id -u)" -eq 0 ]; then
        if id rabbitmq >/dev/null 2>&1; then
            OWNER=rabbitmq
        else
            id easyjobs-mq >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin easyjobs-mq
            OWNER=easyjobs-mq
        fi
    fi

    DIR=$(mktemp -d /tmp/easyjobs-mq.XXXXXX)
    chmod 700 "$DIR"
    local port dist_port epmd_port node suffix
    port=$(free_port)
    dist_port=$(free_port)
    epmd_port=$(free_port)
    suffix=$(tr -dc 'a-z0-9' </dev/urandom | head -c 8 || true)
    node="easyjobs-$suffix@localhost"

    # A cookie of its own: the node and rabbitmqctl read $HOME/.erlang.cookie.
    tr -dc 'A-Z' </dev/urandom | head -c 20 >"$DIR/.erlang.cookie" || true
    chmod 400 "$DIR/.erlang.cookie"
    echo '[].' >"$DIR/enabled_plugins"
    cat >"$DIR/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$port
loopback_users.guest = true
# Tests write little; a nearly full disk of a CI machine must not block publishers.
disk_free_limit.absolute = 10MB
log.console = false
log.file.level = info
CONF
    : >"$DIR/rabbitmq-env.conf"
    cat >"$DIR/env" <<ENV
HOME=$DIR
ERL_EPMD_PORT=$epmd_port
RABBITMQ_NODENAME=$node
RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
RABBITMQ_NODE_PORT=$port
RABBITMQ_DIST_PORT=$dist_port
RABBITMQ_MNESIA_BASE=$DIR/mnesia
RABBITMQ_LOG_BASE=$DIR/log
RABBITMQ_CONFIG_FILE=$DIR/rabbitmq.conf
RABBITMQ_ADVANCED_CONFIG_FILE=$DIR/advanced.config
RABBITMQ_CONF_ENV_FILE=$DIR/rabbitmq-env.conf
RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/enabled_plugins
RABBITMQ_PID_FILE=$DIR/rabbitmq.pid
ENV
    echo "$OWNER" >"$DIR/owner"
    [ "$(id -u)" -eq 0 ] && chown -R "$OWNER" "$DIR"

    local started=$SECONDS
    # setsid: the node outlives this script and the shell that evals its output.
    if [ "$(id -u)" -eq 0 ]; then
        setsid runuser -u "$OWNER" -- env $(cat "$DIR/env") "$RABBIT_BIN/rabbitmq-server" >"$DIR/server.out" 2>&1 </dev/null &
    else
        setsid env $(cat "$DIR/env") "$RABBIT_BIN/rabbitmq-server" >"$DIR/server.out" 2>&1 </dev/null &
    fi
    local launcher=$!

    local deadline=$((SECONDS + 120))
    until as_owner "$RABBIT_BIN/rabbitmqctl" -q -n "$node" await_startup --timeout 10 >/dev/null 2>&1; do
        if ! kill -0 "$launcher" 2>/dev/null; then
            cat "$DIR/server.out" >&2 || true
            log "the node exited during startup (logs in $DIR/log)"
            exit 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            cat "$DIR/server.out" >&2 || true
            log "the node did not start within 120 s (logs in $DIR/log)"
            exit 1
        fi
        sleep 0.5
    done
    echo "export EASYJOBS_TEST_RABBITMQ=amqp://guest:guest@127.0.0.1:$port/"
    echo "export EASYJOBS_TEST_RABBITMQ_DIR=$DIR"
    log "RabbitMQ node $node on 127.0.0.1:$port, started in $((SECONDS - started)) s (files in $DIR); stop it with: scripts/rabbitmq.sh stop $DIR"
}

stop() {
    DIR=${1:-}
    if [ -z "$DIR" ]; then
        log "usage: scripts/rabbitmq.sh stop <directory>"
        exit 2
    fi
    # Only a directory this script made: stop deletes it.
    case "$DIR" in
        /tmp/easyjobs-mq.*) ;;
        *) log "not a directory of rabbitmq.sh: $DIR"; exit 2 ;;
    esac
    [ -d "$DIR" ] || return 0
    if [ -f "$DIR/env" ]; then
        OWNER=$(cat "$DIR/owner")
        local node pid="" epmd_port
        node=$(sed -n 's/^RABBITMQ_NODENAME=//p' "$DIR/env")
        epmd_port=$(sed -n 's/^ERL_EPMD_PORT=//p' "$DIR/env")
        [ -f "$DIR/rabbitmq.pid" ] && pid=$(cat "$DIR/rabbitmq.pid")
        as_owner "$RABBIT_BIN/rabbitmqctl" -q -n "$node" stop >/dev/null 2>&1 || true
        if [ -n "$pid" ]; then
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then
                log "the node (pid $pid) did not stop; killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        # The epmd on the node's own port served this node alone.
        as_owner epmd -port "$epmd_port" -kill >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
}

# rabbitmqctl against the node of a directory (the tests cut connections with it).
ctl() {
    DIR=${1:-}
    case "$DIR" in
        /tmp/easyjobs-mq.*) ;;
        *) log "not a directory of rabbitmq.sh: $DIR"; exit 2 ;;
    esac
    shift
    OWNER=$(cat "$DIR/owner")
    local node
    node=$(sed -n 's/^RABBITMQ_NODENAME=//p' "$DIR/env")
    as_owner "$RABBIT_BIN/rabbitmqctl" -q -n "$node" "$@"
}

case "${1:-start}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    ctl) shift; ctl "$@" ;;
    *)
        log "usage: scripts/rabbitmq.sh [start | stop <directory> | ctl <directory> <rabbitmqctl arguments>]"
        exit 2
        ;;
esac
