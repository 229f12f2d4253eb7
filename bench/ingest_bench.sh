#!/usr/bin/env bash
# Ingest benchmark: hokan-archive against DCMTK's storescp as the reference.
#
#   bash bench/ingest_bench.sh [--count N] [--rows R] [--columns C] [--keep]
#
# Generates N (default 400) CT instances of R x C (default 512 x 512) 16-bit
# pixels, about 0.5 MB each, Explicit VR Little Endian (tests/data/make_study.py),
# then sends them with storescu over 1 association and over 4 parallel
# associations (4 storescu processes, a quarter of the files each) to:
#   storescp   DCMTK's reference SCP writing plain files, no fsync (--fork, bit-preserving)
#   hokan      build/scp/hokan-archive with a throwaway database on the project-local
#              PostgreSQL cluster (fsync on) and a throwaway storage root
# and prints instances/s, MB/s (10^6 bytes of file size per second) and the
# ratio hokan/storescp. Every DCMTK program (storescu, storescp, echoscu,
# hokan-archive) runs with TCP_NODELAY=1 in its environment. Each run gets a
# fresh receiver (new database and storage root, new output directory), and
# `sync` runs before each so no run pays for the previous one's writeback.
# Everything (processes, temporary directories under var/, the database) is
# removed on exit; --keep keeps the directories and logs for inspection.
#
# This is a measurement, never part of the test verdict. See bench/README.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"

COUNT=400
ROWS=512
COLUMNS=512
KEEP=0
while (( $# > 0 )); do
    case "$1" in
        --count)   COUNT="$2"; shift 2 ;;
        --rows)    ROWS="$2"; shift 2 ;;
        --columns) COLUMNS="$2"; shift 2 ;;
        --keep)    KEEP=1; shift ;;
        -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "ingest_bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
if ! [[ "$COUNT" =~ ^[0-9]+$ ]] || (( COUNT < 4 )); then
    echo "ingest_bench: --count must be a number >= 4" >&2
    exit 2
fi

PY=/usr/bin/python3
ARCHIVE="$REPO/build/scp/hokan-archive"
CALLING_AE=BENCH
SEND_TIMEOUT=600      # seconds one storescu run may take before the bench gives up
READY_TIMEOUT=60      # seconds a receiver may take to answer C-ECHO
export TCP_NODELAY=1  # inherited by every DCMTK tool and by hokan-archive

log() { echo "ingest_bench: $*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in storescu storescp echoscu psql; do
    command -v "$tool" >/dev/null || die "$tool not found (run: bash scripts/install-deps.sh)"
done
[[ -f tests/data/make_study.py ]] || die "tests/data/make_study.py is missing"

# --- cleanup ---------------------------------------------------------------------
WORK=""
PIDS=()            # receivers we started (each leads its own process group)
SENDERS=()         # storescu processes of the run in progress
ADMIN_URL=""
DBS=()             # databases we created
STOP_CLUSTER=0
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local rc=$? pid db
    trap - EXIT INT TERM
    for pid in "${SENDERS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
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
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build -----------------------------------------------------------------------
if [[ ! -f build/CMakeCache.txt ]]; then
    log "configuring build/ (RelWithDebInfo)"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
log "building hokan-archive"
cmake --build build -j"$(nproc)" --target hokan-archive >/dev/null
[[ -x "$ARCHIVE" ]] || die "$ARCHIVE was not built"
BUILD_TYPE="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' build/CMakeCache.txt)"

# --- database server -------------------------------------------------------------
if [[ -n "${HOKAN_DATABASE_URL:-}" ]]; then
    [[ "$HOKAN_DATABASE_URL" != *://* ]] \
        || die "HOKAN_DATABASE_URL must be a key=value conninfo for the benchmark"
    ADMIN_URL="$HOKAN_DATABASE_URL dbname=postgres"
else
    bash scripts/db.sh status >/dev/null 2>&1 || STOP_CLUSTER=1
    bash scripts/db.sh start 2>/dev/null
    ADMIN_URL="$(bash scripts/db.sh url postgres)"
fi

# --- data ------------------------------------------------------------------------
# Under var/ rather than /tmp: the receivers must write to a real disk (a tmpfs
# would make fsync free), the same one the project-local database uses.
mkdir -p var
WORK="$(mktemp -d "$REPO/var/bench.XXXXXX")"
chmod 0755 "$WORK"
DATA="$WORK/data"
log "generating $COUNT instances of ${ROWS}x${COLUMNS} in $DATA"
"$PY" tests/data/make_study.py --out "$DATA" --count "$COUNT" --rows "$ROWS" --columns "$COLUMNS" \
    --patient-id BENCH0001 --modality CT >/dev/null
mapfile -t FILES < <(find "$DATA" -name '*.dcm' -type f | sort)
(( ${#FILES[@]} == COUNT )) || die "expected $COUNT files in $DATA, found ${#FILES[@]}"
TOTAL_BYTES="$(du -cb "${FILES[@]}" | tail -n1 | cut -f1)"

# Configuration for hokan: the example plus a facility that BENCH may store for.
CONFIG="$WORK/bench.ini"
cp config/hokan.example.ini "$CONFIG"
printf '\n[facility.bench]\nstore_ae_titles = %s\nallowed_peers =\n' "$CALLING_AE" >>"$CONFIG"

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_ready PID AE PORT LOG: poll with C-ECHO until the receiver answers.
wait_ready() {
    local pid="$1" ae="$2" port="$3" logfile="$4" deadline=$((SECONDS + READY_TIMEOUT))
    until echoscu -aet "$CALLING_AE" -aec "$ae" localhost "$port" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$logfile" >&2 || true
            die "$ae on port $port exited before it answered C-ECHO (log: $logfile)"
        fi
        if (( SECONDS >= deadline )); then
            tail -n 20 "$logfile" >&2 || true
            die "$ae on port $port did not answer C-ECHO within ${READY_TIMEOUT}s (log: $logfile)"
        fi
        sleep 0.1
    done
}

# stop_receiver PID: TERM its process group and reap it.
stop_receiver() {
    local pid="$1" i
    kill -TERM -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for i in "${!PIDS[@]}"; do
        [[ "${PIDS[i]}" != "$pid" ]] || unset 'PIDS[i]'
    done
    PIDS=("${PIDS[@]}")
}

# send AE PORT ASSOCIATIONS LOGPREFIX: storescu in parallel, one process per
# association, files dealt round-robin. Sets ELAPSED to the seconds taken.
# (Runs in the main shell, not in $(...), so a signal's trap runs at once.)
ELAPSED=""
send() {
    local ae="$1" port="$2" n="$3" prefix="$4" i j start end failed=0
    local -a chunk
    SENDERS=()
    sync
    start="$(date +%s.%N)"
    for ((i = 0; i < n; i++)); do
        chunk=()
        for ((j = i; j < ${#FILES[@]}; j += n)); do chunk+=("${FILES[j]}"); done
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
    end="$(date +%s.%N)"
    SENDERS=()
    (( failed == 0 )) || die "sending to $ae over $n association(s) failed"
    ELAPSED="$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }')"
}

RESULTS=()   # "target assoc seconds"

run_storescp() {
    local n="$1" dir="$WORK/storescp-$1" port pid stored
    mkdir -p "$dir"
    port="$(free_port)"
    # --fork: one process per association, so 4 associations are served in parallel.
    setsid storescp --fork +B +xa -dhl -pdu 65536 -aet STORESCP -od "$dir" "$port" \
        >"$dir.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_ready "$pid" STORESCP "$port" "$dir.log"
    log "storescp, $n association(s)"
    send STORESCP "$port" "$n" "$dir"
    stop_receiver "$pid"
    stored="$(find "$dir" -type f | wc -l)"
    (( stored == COUNT )) || die "storescp stored $stored of $COUNT files"
    RESULTS+=("storescp $n $ELAPSED")
}

run_hokan() {
    local n="$1" dir="$WORK/hokan-$1" db="hokan_bench_$$_$1" url port pid stored
    mkdir -p "$dir/storage"
    psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE \"$db\"" >/dev/null
    DBS+=("$db")
    url="${ADMIN_URL% dbname=postgres} dbname=$db"
    port="$(free_port)"
    setsid "$ARCHIVE" --config "$CONFIG" --port "$port" --storage-root "$dir/storage" \
        --database-url "$url" --log-level warn >"$dir.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_ready "$pid" HOKAN "$port" "$dir.log"
    log "hokan, $n association(s)"
    send HOKAN "$port" "$n" "$dir"
    stop_receiver "$pid"
    stored="$(psql -X -qtA "$url" -c 'SELECT count(*) FROM instances')"
    (( stored == COUNT )) || die "hokan indexed $stored of $COUNT instances (log: $dir.log)"
    RESULTS+=("hokan $n $ELAPSED")
}

for n in 1 4; do
    run_storescp "$n"
    run_hokan "$n"
done

# --- report ----------------------------------------------------------------------
echo
echo "ingest benchmark: $COUNT instances, ${ROWS}x${COLUMNS} 16-bit CT, $((TOTAL_BYTES / COUNT)) bytes each," \
     "$(awk -v b="$TOTAL_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB in all"
fstype="$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")"
echo "machine: $(nproc) CPUs, $fstype at $WORK; hokan build: ${BUILD_TYPE:-?}"
printf '%s\n' "${RESULTS[@]}" | awk -v count="$COUNT" -v bytes="$TOTAL_BYTES" '
    BEGIN { printf "%-10s %12s %10s %12s %10s\n", "target", "associations", "seconds", "instances/s", "MB/s" }
    {
        ips = count / $3; mbs = bytes / 1e6 / $3
        printf "%-10s %12d %10.2f %12.1f %10.1f\n", $1, $2, $3, ips, mbs
        rate[$1, $2] = ips
    }
    END {
        printf "\nratio hokan/storescp (instances/s): 1 association %.2f, 4 associations %.2f\n",
            rate["hokan", 1] / rate["storescp", 1], rate["hokan", 4] / rate["storescp", 4]
    }'
