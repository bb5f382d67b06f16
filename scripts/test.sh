#!/usr/bin/env bash
# Run the test suite twice: on the embedded defaults (SQLite, in-memory channel layer,
# filesystem Celery broker) and on PostgreSQL + Redis.
#
#   SUNDIAL_TEST_BACKENDS=sqlite   skip the PostgreSQL + Redis pass (refused when CI=true)
#   SUNDIAL_TEST_POSTGRES_URL      server for the second pass (default postgres://postgres@127.0.0.1:5432)
#   SUNDIAL_TEST_REDIS_URL         Redis for the second pass (default redis://127.0.0.1:6379/0)
#   PYTEST_ARGS                    extra pytest arguments (e.g. "-k health -x")
#   SUNDIAL_ARTIFACTS_DIR          where browser tests save screenshots (default test-results/<pass>)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PG_URL="${SUNDIAL_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
REDIS="${SUNDIAL_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
BACKENDS="${SUNDIAL_TEST_BACKENDS:-all}"
RUN_ID="$(date +%s)_$$"
ARTIFACTS="${SUNDIAL_ARTIFACTS_DIR:-$PWD/test-results}"
WORKERS="${SUNDIAL_TEST_WORKERS:-auto}"

# Variables a developer may have exported would decide the backends; each pass sets its own.
unset DATABASE_URL ENGINE_DATABASE_URL REDIS_URL CELERY_BROKER_URL CELERY_RESULT_BACKEND SUNDIAL_DATA_DIR

run_pass() {
    local name="$1"; shift
    local data_dir
    data_dir="$(mktemp -d -t "sundial-test-${name}-XXXXXX")"
    echo "=== test pass: ${name} ==="
    # shellcheck disable=SC2086
    env SUNDIAL_DATA_DIR="$data_dir" SUNDIAL_ARTIFACTS_DIR="$ARTIFACTS/${name}" "$@" \
        "$VENV/bin/pytest" -n "$WORKERS" -p no:cacheprovider ${PYTEST_ARGS:-}
    rm -rf "$data_dir"
}

run_pass sqlite

if [ "$BACKENDS" = "sqlite" ] && [ "${CI:-}" != "true" ]; then
    echo "=== test pass: postgres+redis skipped (SUNDIAL_TEST_BACKENDS=sqlite) ==="
    exit 0
fi
if [ "$BACKENDS" != "all" ] && [ "$BACKENDS" != "sqlite" ]; then
    echo "make test: error: SUNDIAL_TEST_BACKENDS must be 'all' or 'sqlite', not '$BACKENDS'" >&2
    exit 2
fi

"$VENV/bin/python" scripts/check_services.py "$PG_URL" "$REDIS"

run_pass postgres+redis \
    DATABASE_URL="${PG_URL%/}/sundial_${RUN_ID}" \
    ENGINE_DATABASE_URL="${PG_URL%/}/sundial_engine_${RUN_ID}" \
    REDIS_URL="$REDIS" \
    CHANNELS_PREFIX="sundial_test_${RUN_ID}"
