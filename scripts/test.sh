#!/usr/bin/env bash
# The project's one test command: builds everything (the easyjobs executable and the plugin
# .so files the integration tests load) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# GRDB links the system SQLite; the host calls foreign-language plugins through libffi.
for package in libsqlite3-dev libffi-dev; do
    if ! dpkg -s "$package" >/dev/null 2>&1; then
        apt-get update && apt-get install -y --no-install-recommends "$package"
    fi
done

# The OpenAPI test validates the live document with openapi-spec-validator.
if ! python3 -c "import openapi_spec_validator" >/dev/null 2>&1; then
    python3 -m pip install --quiet openapi-spec-validator
fi

# The browser test drives headless Chromium over the DevTools protocol.
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update && apt-get install -y --no-install-recommends chromium
fi

# Servers this script starts, stopped on exit (only those: a server given by the caller stays).
cleanup=()
trap 'for command in "${cleanup[@]}"; do eval "$command" || true; done' EXIT

# The store tests run against PostgreSQL too: a throwaway server, unless one is given.
if [ -z "${EASYJOBS_TEST_POSTGRES:-}" ]; then
    postgres_env=$(bash scripts/postgres.sh start)
    eval "$postgres_env"
    cleanup+=("bash scripts/postgres.sh stop '$EASYJOBS_TEST_POSTGRES_DIR'")
fi
export EASYJOBS_TEST_POSTGRES

# The AMQP client and the RabbitMQ broker tests run against a throwaway RabbitMQ node.
if [ -z "${EASYJOBS_TEST_RABBITMQ:-}" ]; then
    rabbitmq_env=$(bash scripts/rabbitmq.sh start)
    eval "$rabbitmq_env"
    cleanup+=("bash scripts/rabbitmq.sh stop '$EASYJOBS_TEST_RABBITMQ_DIR'")
fi
export EASYJOBS_TEST_RABBITMQ

# Formatting is checked before anything is built: .swift-format is the style, and
# `swift format format -i -r Sources Tests Benchmarks SDK Plugins` applies it.
swift format lint --strict --configuration .swift-format -r Sources Tests Benchmarks SDK Plugins

swift build --build-tests
# The AMQP client's tests time heartbeats and broker round trips: they get a pass of their own
# below, rather than two cores shared with every other suite.
swift test --skip-build --skip 'EasyJobsAMQPTests\.' "$@"
if [ "$#" -eq 0 ]; then
    swift test --skip-build --filter 'EasyJobsAMQPTests\.'
fi

# The integration suites that touch the store, again with every manager on PostgreSQL (a
# database per cluster). Tests of the SQLite file itself (full disk, read-only directory) are
# SQLite's alone; the scale-out test ran above, on PostgreSQL already. Arguments given to this
# script (a --filter) apply to the first pass only.
if [ "$#" -eq 0 ]; then
    EASYJOBS_TEST_STORE=postgres swift test --skip-build \
        --filter "EndToEndTests|PipelineTests|SchedulingTests|ReliabilityTests|BadInputTests|SubprocessTests|ObservabilityTests|PluginCacheTests|CommandLineTests|FaultTests|RetentionEndToEndTests|JobFeatureTests|TaskEnqueueTests|DeadJobTests|TaskLimitTests|ProgressTests|WebhookTests|WeightedQueueTests" \
        --skip "aFullDisk|aReadOnlyDataDirectory"
fi
