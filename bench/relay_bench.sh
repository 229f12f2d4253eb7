#!/usr/bin/env bash
# Relay forwarding benchmark: hokan-forward → hokan-archive, against storescu
# sending the same files straight to a second, fresh hokan-archive.
#
#   bash bench/relay_bench.sh [--count N] [--rows R] [--columns C]
#                             [--associations A] [--relay-associations R] [--keep]
#
# Generates N (default 2000) CT instances of R x C (default 512 x 512) 16-bit
# pixels, about 0.5 MB each (tests/data/make_study.py, 20 studies), then:
#   1. direct: storescu, A parallel processes (default 4, files dealt
#      round-robin), straight to archive #1 (fresh database and storage).
#   2. relay:  storescu (A processes) into hokan-forward, whose timing is
#      nightly, on the real clock, with nightly_at the first minute boundary
#      at least 10 s + 3 x the direct run's time after the relay starts, so
#      that the spool is filled (then `sync`) well before it: the script then
#      WAITS for that minute (30 s on average, up to a minute more; it dies if
#      the spool was not filled 2 s before it). The time is taken from that
#      due instant until archive #2 (fresh database and storage) has all N
#      instances in its index, so it includes everything the relay does after
#      the due moment (noticing it, reading its queue, opening associations).
#      The relay uses R parallel associations (default A) and its default
#      settings otherwise (poll_interval_seconds 1); it asks for Storage
#      Commitment after each batch, and the archive reports to the relay's
#      port (report_destinations), as in production. The end is the
#      archive's time of indexing the last instance (its received_at, the
#      same wall clock), read once all are there.
# Prints seconds, instances/s and MB/s of each and the ratio relay/direct
# (instances/s) by the wall clock; then the span from the first to the last
# instance indexed by each archive (its received_at), which leaves out the
# relay's reaction to the due instant and storescu's start-up, the ratio of
# those spans, and the relay's reaction (due instant to the first instance
# indexed). Builds hokan-archive and hokan-forward in HOKAN_BUILD_DIR
# (default build/). Everything is removed on exit unless --keep.
#
# This is a measurement, never part of the test verdict. See bench/README.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"

COUNT=2000
ROWS=512
COLUMNS=512
ASSOCIATIONS=4
RELAY_ASSOCIATIONS=""
KEEP=0
while (( $# > 0 )); do
    case "$1" in
        --count)        COUNT="$2"; shift 2 ;;
        --rows)         ROWS="$2"; shift 2 ;;
        --columns)      COLUMNS="$2"; shift 2 ;;
        --associations) ASSOCIATIONS="$2"; shift 2 ;;
        --relay-associations) RELAY_ASSOCIATIONS="$2"; shift 2 ;;
        --keep)         KEEP=1; shift ;;
        -h|--help) sed -n '2,34p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "relay_bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
if ! [[ "$COUNT" =~ ^[0-9]+$ ]] || (( COUNT < 20 )); then
    echo "relay_bench: --count must be a number >= 20" >&2
    exit 2
fi
RELAY_ASSOCIATIONS="${RELAY_ASSOCIATIONS:-$ASSOCIATIONS}"
for value in "$ASSOCIATIONS" "$RELAY_ASSOCIATIONS"; do
    if ! [[ "$value" =~ ^[0-9]+$ ]] || (( value < 1 || value > 16 )); then
        echo "relay_bench: --associations and --relay-associations must be 1-16" >&2
        exit 2
    fi
done

CALLING_AE=BENCH          # the "modality"
RELAY_AE=BENCH_FWD
SEND_TIMEOUT=900          # seconds one storescu run may take
FORWARD_TIMEOUT=900       # seconds the relay may take to forward everything

BENCH_NAME=relay_bench
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"   # PY, READY_TIMEOUT, TCP_NODELAY=1, log, die, ...

require_tools storescu echoscu psql
[[ -f tests/data/make_study.py ]] || die "tests/data/make_study.py is missing"

SENDERS=()
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup_clients() {
    local pid
    for pid in "${SENDERS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
}
bench_traps

# --- build -----------------------------------------------------------------------
BUILD_DIR="${HOKAN_BUILD_DIR:-build}"
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
    log "configuring $BUILD_DIR (RelWithDebInfo)"
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
log "building hokan-archive and hokan-forward in $BUILD_DIR"
cmake --build "$BUILD_DIR" -j"$(nproc)" --target hokan-archive hokan-forward >/dev/null
ARCHIVE="$REPO/$BUILD_DIR/scp/hokan-archive"
FORWARD="$REPO/$BUILD_DIR/scu/hokan-forward"
[[ -x "$ARCHIVE" && -x "$FORWARD" ]] || die "hokan-archive or hokan-forward was not built"
BUILD_TYPE="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD_DIR/CMakeCache.txt")"

start_database

# --- data ------------------------------------------------------------------------
make_workdir relay-bench
DATA="$WORK/data"
STUDIES=20
log "generating $COUNT instances of ${ROWS}x${COLUMNS} in $DATA ($STUDIES studies)"
for ((s = 0; s < STUDIES; s++)); do
    per=$(( COUNT / STUDIES + (s < COUNT % STUDIES ? 1 : 0) ))
    "$PY" tests/data/make_study.py --out "$DATA/study$s" --count "$per" --rows "$ROWS" \
        --columns "$COLUMNS" --patient-id "BENCH$s" --modality CT >/dev/null
done
mapfile -t FILES < <(find "$DATA" -name '*.dcm' -type f | sort)
(( ${#FILES[@]} == COUNT )) || die "expected $COUNT files in $DATA, found ${#FILES[@]}"
TOTAL_BYTES="$(du -cb "${FILES[@]}" | tail -n1 | cut -f1)"

# send AE PORT LOGPREFIX: ASSOCIATIONS storescu processes, files round-robin.
# Sets ELAPSED to the seconds taken.
ELAPSED=""
send() {
    local ae="$1" port="$2" prefix="$3" i j start end
    CHUNKS=()
    for ((i = 0; i < ASSOCIATIONS; i++)); do
        CHUNKS[i]=""
        for ((j = i; j < ${#FILES[@]}; j += ASSOCIATIONS)); do CHUNKS[i]+="${FILES[j]}"$'\n'; done
    done
    start="$(date +%s.%N)"
    run_storescus "$ae" "$port" "$prefix" || die "sending to $ae failed"
    end="$(date +%s.%N)"
    ELAPSED="$(seconds_between "$start" "$end")"
}

# start_archive NAME: a fresh hokan-archive (database, storage root) where
# BENCH and BENCH_FWD may store; sets ARCHIVE_PORT, ARCHIVE_URL, ARCHIVE_PID.
start_archive() {
    local name="$1" dir="$WORK/$1"
    mkdir -p "$dir/storage"
    cp config/hokan.example.ini "$dir/hokan.ini"
    printf "\n[facility.bench]\nstore_ae_titles = %s, %s\nallowed_peers =\nprovision_contract = true\nprovision_quota_bytes = 1T\nreport_destinations = %s@127.0.0.1:%s\n" \
        "$CALLING_AE" "$RELAY_AE" "$RELAY_AE" "$RELAY_PORT" >>"$dir/hokan.ini"
    create_database "hokan_relay_bench_$$_$name"
    ARCHIVE_URL="$DB_URL"
    ARCHIVE_PORT="$(free_port)"
    spawn_server "$dir.log" "$ARCHIVE" --config "$dir/hokan.ini" --port "$ARCHIVE_PORT" \
        --storage-root "$dir/storage" --database-url "$ARCHIVE_URL" --log-level warn
    ARCHIVE_PID="$SERVER_PID"
    wait_ready "$CALLING_AE" "$ARCHIVE_PID" HOKAN "$ARCHIVE_PORT" "$dir.log" "archive $name"
}

indexed() { psql -X -qtA "$1" -c 'SELECT count(*) FROM instances'; }
# Seconds from the first to the last instance indexed (the archive's clock).
indexed_span() {
    psql -X -qtA "$1" -c 'SELECT extract(epoch FROM max(received_at) - min(received_at)) FROM instances'
}

# The archive sends its Storage Commitment reports to the relay's port
# (report_destinations), as a facility's archive configuration would.
RELAY_PORT="$(free_port)"

# --- direct ----------------------------------------------------------------------
start_archive direct
sync
log "direct: storescu x$ASSOCIATIONS → archive"
send HOKAN "$ARCHIVE_PORT" "$WORK/direct"
DIRECT_SECONDS="$ELAPSED"
stored="$(indexed "$ARCHIVE_URL")"
(( stored == COUNT )) || die "the direct archive indexed $stored of $COUNT instances"
DIRECT_SPAN="$(indexed_span "$ARCHIVE_URL")"
stop_server "$ARCHIVE_PID"

# --- relay -----------------------------------------------------------------------
start_archive relayed
RELAYED_URL="$ARCHIVE_URL"
RELAY_DIR="$WORK/relay"
mkdir -p "$RELAY_DIR/spool"
# The nightly time: a minute boundary on the real clock, far enough ahead
# for the relay's start, the spool (about as long as the direct run) and `sync`.
LEAD_SECONDS="$(awk -v d="$DIRECT_SECONDS" 'BEGIN { printf "%d\n", 10 + 3 * d + 0.999 }')"
DUE_EPOCH=$(( ( $(date +%s) + LEAD_SECONDS + 59 ) / 60 * 60 ))
NIGHTLY_AT="$(date -u -d "@$DUE_EPOCH" +%H:%M)"
cat >"$RELAY_DIR/relay.ini" <<INI
[relay]
ae_title = $RELAY_AE
port = $RELAY_PORT
spool_dir = $RELAY_DIR/spool
modality_ae_titles = $CALLING_AE
log_level = info
[archive]
ae_title = HOKAN
host = 127.0.0.1
port = $ARCHIVE_PORT
parallel_associations = $RELAY_ASSOCIATIONS
[timing]
mode = nightly
nightly_at = $NIGHTLY_AT
; Never under the watermark (which forwards at once), whatever this disk has free.
low_space_watermark_bytes = 1
keep_days = 30
INI
spawn_server "$RELAY_DIR.log" "$FORWARD" run --config "$RELAY_DIR/relay.ini"
RELAY_PID="$SERVER_PID"
wait_ready "$CALLING_AE" "$RELAY_PID" "$RELAY_AE" "$RELAY_PORT" "$RELAY_DIR.log" "hokan-forward"
log "spooling: storescu x$ASSOCIATIONS → relay (nightly at $NIGHTLY_AT UTC, nothing forwards yet)"
send "$RELAY_AE" "$RELAY_PORT" "$WORK/spool"
SPOOL_SECONDS="$ELAPSED"
sync
stored="$(indexed "$RELAYED_URL")"
(( stored == 0 )) || die "the relay forwarded $stored instances before the nightly time"
(( $(date +%s) <= DUE_EPOCH - 2 )) \
    || die "the spool was filled later than 2 s before the nightly time $NIGHTLY_AT; rerun"
log "waiting $(( DUE_EPOCH - $(date +%s) )) s for the nightly time $NIGHTLY_AT UTC," \
    "then relay → archive over $RELAY_ASSOCIATIONS associations"
start="$DUE_EPOCH"
deadline=$((DUE_EPOCH + FORWARD_TIMEOUT))
# Waiting for a wall-clock instant, then polling the measurement (not
# synchronisation): the end is the archive's commit time of the last
# instance (below), so a slow poll loses no precision, and its psql
# processes take little CPU from the run.
sleep "$(awk -v due="$DUE_EPOCH" -v now="$(date +%s.%N)" 'BEGIN { w = due - now + 0.5; print (w > 0 ? w : 0) }')"
until [[ "$(indexed "$RELAYED_URL")" == "$COUNT" ]]; do
    kill -0 "$RELAY_PID" 2>/dev/null || die "hokan-forward exited (log: $RELAY_DIR.log)"
    (( $(date +%s) < deadline )) || die "the archive indexed $(indexed "$RELAYED_URL") of $COUNT" \
        "within ${FORWARD_TIMEOUT}s of the nightly time (log: $RELAY_DIR.log)"
    sleep 0.5
done
end="$(psql -X -qtA "$RELAYED_URL" -c 'SELECT extract(epoch FROM max(received_at)) FROM instances')"
RELAY_SECONDS="$(seconds_between "$start" "$end")"
RELAY_SPAN="$(indexed_span "$RELAYED_URL")"
first="$(psql -X -qtA "$RELAYED_URL" -c 'SELECT extract(epoch FROM min(received_at)) FROM instances')"
REACTION_SECONDS="$(seconds_between "$start" "$first")"
committed="$(psql -X -qtA "$RELAYED_URL" -c "SELECT coalesce(sum(committed_count), 0) FROM commitment_requests WHERE state = 'reported'")"
stop_server "$RELAY_PID"
stop_server "$ARCHIVE_PID"

# --- report ----------------------------------------------------------------------
echo
echo "relay benchmark: $COUNT instances in $STUDIES studies, ${ROWS}x${COLUMNS} 16-bit CT," \
     "$((TOTAL_BYTES / COUNT)) bytes each, $(awk -v b="$TOTAL_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB in all"
fstype="$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")"
echo "machine: $(nproc) CPUs, $fstype at $WORK; build: ${BUILD_TYPE:-?}; storescu $ASSOCIATIONS associations, relay $RELAY_ASSOCIATIONS"
printf '%s\n' "direct $DIRECT_SECONDS" "spool $SPOOL_SECONDS" "relay $RELAY_SECONDS" |
    awk -v count="$COUNT" -v bytes="$TOTAL_BYTES" '
    BEGIN { printf "%-28s %10s %12s %10s\n", "run", "seconds", "instances/s", "MB/s" }
    {
        name = $1 == "direct" ? "storescu -> archive" : $1 == "spool" ? "storescu -> relay (spool)" \
                                                                     : "relay -> archive"
        ips = count / $2; mbs = bytes / 1e6 / $2
        printf "%-28s %10.2f %12.1f %10.1f\n", name, $2, ips, mbs
        rate[$1] = ips
    }
    END { printf "\nratio relay/direct, wall clock (instances/s): %.2f\n", rate["relay"] / rate["direct"] }'
awk -v direct="$DIRECT_SPAN" -v relay="$RELAY_SPAN" -v count="$COUNT" 'BEGIN {
    printf "first to last instance indexed by the archive: direct %.2f s (%.1f/s), relay %.2f s (%.1f/s)\n",
        direct, (count - 1) / direct, relay, (count - 1) / relay
    printf "ratio relay/direct, transfer (archive-side span): %.2f\n", direct / relay
}'
echo "relay's reaction, from the nightly time to the first instance indexed: $REACTION_SECONDS s"
echo "instances committed to the relay by the archive's reports by the end: $committed"
