#!/usr/bin/env bash
# Build hokan with warnings as errors and run the whole test suite (unit and
# integration) against a real PostgreSQL. CI runs this through .ci/run.
#
#   bash scripts/test.sh [ctest options...]      e.g. -R ingest   or   -L unit
#
# Steps: install missing Debian packages -> configure and build in build/ with
# -DHOKAN_WARNINGS_AS_ERRORS=ON -> start the project-local PostgreSQL
# (scripts/db.sh) -> export HOKAN_TEST_DATABASE_URL -> ctest -j2. Exits non-zero
# if the build or any test fails, or if no test ran.
#
# Environment:
#   HOKAN_TEST_DATABASE_URL  conninfo the tests use to reach a PostgreSQL server
#                            on which they may create and drop their own databases;
#                            set by this script (dbname=postgres of the local cluster)
#   HOKAN_DATABASE_URL       if set (and HOKAN_TEST_DATABASE_URL is not), the tests use
#                            that server and the local cluster is not started
#   HOKAN_TEST_TIMEOUT       per-test timeout in seconds for ctest (default 600)
#   HOKAN_TEST_JOBS          ctest parallelism (default 2)
#   HOKAN_BUILD_TYPE         CMake build type (default RelWithDebInfo)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"
started_at=$SECONDS
log() { echo "test.sh: $*"; }
elapsed() { echo "$((SECONDS - started_at))s"; }

bash scripts/install-deps.sh

log "configuring and building (build/, ${HOKAN_BUILD_TYPE:-RelWithDebInfo}, warnings as errors)"
if ! cmake -S . -B build -DCMAKE_BUILD_TYPE="${HOKAN_BUILD_TYPE:-RelWithDebInfo}" \
        -DHOKAN_WARNINGS_AS_ERRORS=ON \
    || ! cmake --build build -j"$(nproc)"; then
    log "FAILED: the build failed after $(elapsed); no test was run"
    exit 1
fi
log "build finished after $(elapsed)"

stop_cluster=0
local_cluster=0
if [[ -n "${HOKAN_TEST_DATABASE_URL:-}" ]]; then
    log "using the PostgreSQL server from HOKAN_TEST_DATABASE_URL"
elif [[ -n "${HOKAN_DATABASE_URL:-}" ]]; then
    log "using the PostgreSQL server from HOKAN_DATABASE_URL"
    HOKAN_TEST_DATABASE_URL="$HOKAN_DATABASE_URL"
else
    # Leave the cluster as we found it: stop it afterwards only if we started it.
    if ! bash scripts/db.sh status >/dev/null 2>&1; then
        stop_cluster=1
    fi
    bash scripts/db.sh start
    local_cluster=1
    HOKAN_TEST_DATABASE_URL="$(bash scripts/db.sh url postgres)"
fi
export HOKAN_TEST_DATABASE_URL
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    if [[ $stop_cluster == 1 ]]; then
        stop_cluster=0
        bash scripts/db.sh stop || true
    fi
}
trap cleanup EXIT

mkdir -p build
ctest_log=build/ctest-output.log
log "running ctest (HOKAN_TEST_DATABASE_URL=$HOKAN_TEST_DATABASE_URL)"
set +e
ctest --test-dir build --output-on-failure --no-tests=error \
    -j"${HOKAN_TEST_JOBS:-2}" --timeout "${HOKAN_TEST_TIMEOUT:-600}" "$@" 2>&1 | tee "$ctest_log"
ctest_rc=${PIPESTATUS[0]}
set -e
cleanup   # stop the cluster now, so the summary below is the last thing printed
trap - EXIT

# Summary from ctest's "NN% tests passed, F tests failed out of T" line.
summary="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$ctest_log" | tail -n1 || true)"
echo
if [[ -n "$summary" ]]; then
    failed="$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$summary")"
    total="$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")"
    skipped="$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)' "$ctest_log" || true)"
    passed=$((total - failed - skipped))
    if [[ $ctest_rc == 0 ]]; then
        log "OK: all tests passed in $(elapsed) (details: $ctest_log, build/Testing/Temporary/LastTest.log)"
    else
        log "FAILED: ctest exit status $ctest_rc after $(elapsed) (details: $ctest_log, build/Testing/Temporary/LastTest.log)"
        if [[ $local_cluster == 1 ]]; then
            log "PostgreSQL log: $REPO/var/pg/log/postgresql.log"
        fi
    fi
    if (( skipped > 0 )); then
        echo "test.sh: $passed passed, $failed failed, $skipped skipped"
    else
        echo "test.sh: $passed passed, $failed failed"
    fi
else
    log "FAILED: ctest exit status $ctest_rc after $(elapsed), no test summary (no tests found?)"
    [[ $ctest_rc != 0 ]] || ctest_rc=1
fi
exit "$ctest_rc"
