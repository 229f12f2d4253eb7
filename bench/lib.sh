# shellcheck shell=bash
# Shared setup of the benchmark scripts in bench/; sourced, never run.
#
# The sourcing script first sets REPO (the checkout, already the current
# directory), BENCH_NAME (the prefix of its messages) and KEEP (1: keep the
# scratch directory on exit), then sources this file and calls bench_traps.
# This file sets PY, ARCHIVE, READY_TIMEOUT and exports TCP_NODELAY=1.
#
# This is a measurement helper, never part of the test verdict. See bench/README.md.

# shellcheck disable=SC2034  # PY, ARCHIVE and BUILD_TYPE are used by the sourcing scripts
PY=/usr/bin/python3
# shellcheck disable=SC2034
# HOKAN_ARCHIVE: another hokan-archive binary to measure (e.g. an older
# build, for before/after figures); then nothing is built.
ARCHIVE="${HOKAN_ARCHIVE:-$REPO/build/scp/hokan-archive}"
READY_TIMEOUT=60      # seconds a server may take to answer C-ECHO
export TCP_NODELAY=1  # inherited by every DCMTK tool and by hokan-archive

# log MESSAGE...: one line "BENCH_NAME: MESSAGE" on stderr.
log() { echo "$BENCH_NAME: $*" >&2; }
# die MESSAGE...: log "error: MESSAGE" and exit 1 (the EXIT trap cleans up).
die() { log "error: $*"; exit 1; }

# require_tools TOOL...: dies unless every TOOL is on PATH.
require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool not found (run: bash scripts/install-deps.sh)"
    done
}

# --- cleanup ---------------------------------------------------------------------
WORK=""            # scratch directory (make_workdir)
PIDS=()            # servers we started (each leads its own process group)
ADMIN_URL=""       # conninfo of the maintenance database (start_database)
DBS=()             # databases we created (create_database)
STOP_CLUSTER=0     # 1: we started the project-local cluster, so we stop it

# bench_cleanup: the EXIT trap. Calls the script's cleanup_clients if it
# defines one, stops every server in PIDS (TERM to its process group, then
# reaps it), drops every database in DBS, stops the cluster if we started it,
# removes WORK (unless KEEP is 1), and exits with the status it was called with.
# shellcheck disable=SC2317  # invoked by the EXIT trap
bench_cleanup() {
    local rc=$? pid db
    trap - EXIT INT TERM
    if declare -F cleanup_clients >/dev/null; then
        cleanup_clients
    fi
    for pid in "${PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for db in "${DBS[@]}"; do
        psql -X -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 \
            || log "could not drop database $db"
    done
    if [[ $STOP_CLUSTER == 1 ]]; then
        bash scripts/db.sh stop >/dev/null 2>&1 || true
    fi
    if [[ -n "$WORK" ]]; then
        if [[ $KEEP == 1 ]]; then
            log "kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$rc"
}

# bench_traps: installs bench_cleanup on EXIT; INT and TERM exit 130 and 143.
bench_traps() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# --- build -----------------------------------------------------------------------
# build_archive: configures build/ (RelWithDebInfo) if it has no cache, builds
# hokan-archive, dies unless ARCHIVE is then executable, sets BUILD_TYPE.
build_archive() {
    if [[ -n "${HOKAN_ARCHIVE:-}" ]]; then
        [[ -x "$ARCHIVE" ]] || die "HOKAN_ARCHIVE=$ARCHIVE is not executable"
        BUILD_TYPE="given ($ARCHIVE)"
        return
    fi
    if [[ ! -f build/CMakeCache.txt ]]; then
        log "configuring build/ (RelWithDebInfo)"
        cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
    log "building hokan-archive"
    cmake --build build -j"$(nproc)" --target hokan-archive >/dev/null
    [[ -x "$ARCHIVE" ]] || die "$ARCHIVE was not built"
    BUILD_TYPE="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' build/CMakeCache.txt)"
}

# --- database --------------------------------------------------------------------
# start_database: sets ADMIN_URL to a key=value conninfo of the "postgres"
# database: from HOKAN_DATABASE_URL if set (dies if it is a URI), else of the
# project-local cluster, which it starts (setting STOP_CLUSTER if it was down).
start_database() {
    if [[ -n "${HOKAN_DATABASE_URL:-}" ]]; then
        [[ "$HOKAN_DATABASE_URL" != *://* ]] \
            || die "HOKAN_DATABASE_URL must be a key=value conninfo for the benchmark"
        ADMIN_URL="$HOKAN_DATABASE_URL dbname=postgres"
    else
        bash scripts/db.sh status >/dev/null 2>&1 || STOP_CLUSTER=1
        bash scripts/db.sh start 2>/dev/null
        ADMIN_URL="$(bash scripts/db.sh url postgres)"
    fi
}

# create_database NAME: creates database NAME (dies on failure), records it in
# DBS so that the EXIT trap drops it, and sets DB_URL to its conninfo.
# (Call it in the main shell, not in $(...).)
DB_URL=""
create_database() {
    psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE \"$1\"" >/dev/null
    DBS+=("$1")
    DB_URL="${ADMIN_URL% dbname=postgres} dbname=$1"
}

# --- scratch and servers ---------------------------------------------------------
# make_workdir PREFIX: creates WORK as var/PREFIX.XXXXXX in the checkout (a real
# disk, not a tmpfs), mode 0755; the EXIT trap removes it unless KEEP is 1.
make_workdir() {
    mkdir -p var
    WORK="$(mktemp -d "$REPO/var/$1.XXXXXX")"
    chmod 0755 "$WORK"
}

# free_port: prints a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# spawn_server LOG COMMAND...: starts COMMAND in its own process group with
# stdout and stderr to LOG, records it in PIDS so that the EXIT trap stops it,
# and sets SERVER_PID to its pid. (Call it in the main shell, not in $(...).)
SERVER_PID=""
spawn_server() {
    local logfile="$1"
    shift
    setsid "$@" >"$logfile" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
}

# wait_ready CALLING_AE PID AE PORT LOG [NAME]: polls with echoscu (as
# CALLING_AE) until AE on localhost:PORT answers C-ECHO. Dies, showing the end
# of LOG, if PID exits first or READY_TIMEOUT seconds pass. NAME is what the
# messages call the server (default "AE on port PORT").
wait_ready() {
    local calling="$1" pid="$2" ae="$3" port="$4" logfile="$5" deadline=$((SECONDS + READY_TIMEOUT))
    local name="${6:-$3 on port $4}"
    until echoscu -aet "$calling" -aec "$ae" localhost "$port" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$logfile" >&2 || true
            die "$name exited before it answered C-ECHO (log: $logfile)"
        fi
        if (( SECONDS >= deadline )); then
            tail -n 20 "$logfile" >&2 || true
            die "$name did not answer C-ECHO within ${READY_TIMEOUT}s (log: $logfile)"
        fi
        sleep 0.1
    done
}

# stop_server PID: TERMs PID's process group, reaps it and removes it from PIDS.
stop_server() {
    local pid="$1" i
    kill -TERM -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for i in "${!PIDS[@]}"; do
        [[ "${PIDS[i]}" != "$pid" ]] || unset 'PIDS[i]'
    done
    PIDS=("${PIDS[@]}")
}

# --- senders ---------------------------------------------------------------------
# run_storescus AE PORT LOGPREFIX: one storescu (as CALLING_AE, within
# SEND_TIMEOUT seconds) per entry of CHUNKS (newline-separated file lists),
# all at once, each logging to LOGPREFIX.storescuI.log; waits for them all.
# Records them in SENDERS meanwhile (for the script's cleanup_clients).
# Returns 1, after showing the end of each failed one's log, if any failed.
# (Call it in the main shell, not in $(...), so a signal's trap runs at once.)
run_storescus() {
    local ae="$1" port="$2" prefix="$3" i failed=0
    local -a chunk
    SENDERS=()
    for i in "${!CHUNKS[@]}"; do
        mapfile -t chunk < <(printf '%s' "${CHUNKS[i]}")
        timeout "$SEND_TIMEOUT" storescu -aet "$CALLING_AE" -aec "$ae" localhost "$port" "${chunk[@]}" \
            >"$prefix.storescu$i.log" 2>&1 &
        SENDERS+=($!)
    done
    for i in "${!SENDERS[@]}"; do
        if ! wait "${SENDERS[i]}"; then
            failed=1
            log "storescu #$i to $ae failed (log: $prefix.storescu$i.log):"
            tail -n 5 "$prefix.storescu$i.log" >&2 || true
        fi
    done
    SENDERS=()
    return "$failed"
}

# --- report ----------------------------------------------------------------------
# seconds_between START END: prints END - START (seconds, as from date +%s.%N)
# with three decimals.
seconds_between() {
    awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f\n", e - s }'
}
