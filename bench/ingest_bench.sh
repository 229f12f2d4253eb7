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

CALLING_AE=BENCH
SEND_TIMEOUT=600      # seconds one storescu run may take before the bench gives up

BENCH_NAME=ingest_bench
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"   # PY, ARCHIVE, READY_TIMEOUT, TCP_NODELAY=1, log, die, ...

require_tools storescu storescp echoscu psql
[[ -f tests/data/make_study.py ]] || die "tests/data/make_study.py is missing"

# --- cleanup ---------------------------------------------------------------------
SENDERS=()         # storescu processes of the run in progress
# cleanup_clients: called first by the EXIT trap (bench/lib.sh).
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup_clients() {
    local pid
    for pid in "${SENDERS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
}
bench_traps

# --- build -----------------------------------------------------------------------
build_archive

# --- database server -------------------------------------------------------------
start_database

# --- data ------------------------------------------------------------------------
# Under var/ rather than /tmp: the receivers must write to a real disk (a tmpfs
# would make fsync free), the same one the project-local database uses.
make_workdir bench
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
printf "\n[facility.bench]\nstore_ae_titles = %s\nallowed_peers =\nprovision_contract = true\nprovision_quota_bytes = 1T\n" "$CALLING_AE" >>"$CONFIG"

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
    ELAPSED="$(seconds_between "$start" "$end")"
}

RESULTS=()   # "target assoc seconds"

run_storescp() {
    local n="$1" dir="$WORK/storescp-$1" port pid stored
    mkdir -p "$dir"
    port="$(free_port)"
    # --fork: one process per association, so 4 associations are served in parallel.
    spawn_server "$dir.log" storescp --fork +B +xa -dhl -pdu 65536 -aet STORESCP -od "$dir" "$port"
    pid="$SERVER_PID"
    wait_ready "$CALLING_AE" "$pid" STORESCP "$port" "$dir.log"
    log "storescp, $n association(s)"
    send STORESCP "$port" "$n" "$dir"
    stop_server "$pid"
    stored="$(find "$dir" -type f | wc -l)"
    (( stored == COUNT )) || die "storescp stored $stored of $COUNT files"
    RESULTS+=("storescp $n $ELAPSED")
}

run_hokan() {
    local n="$1" dir="$WORK/hokan-$1" db="hokan_bench_$$_$1" url port pid stored
    mkdir -p "$dir/storage"
    create_database "$db"
    url="$DB_URL"
    port="$(free_port)"
    spawn_server "$dir.log" "$ARCHIVE" --config "$CONFIG" --port "$port" --storage-root "$dir/storage" \
        --database-url "$url" --log-level warn
    pid="$SERVER_PID"
    wait_ready "$CALLING_AE" "$pid" HOKAN "$port" "$dir.log"
    log "hokan, $n association(s)"
    send HOKAN "$port" "$n" "$dir"
    stop_server "$pid"
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
