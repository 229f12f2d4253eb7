#!/usr/bin/env bash
# Retrieve benchmark: C-MOVE from hokan-archive against storescu sending the
# same files directly, both to DCMTK's storescp.
#
#   bash bench/move_bench.sh [--count N] [--rows R] [--columns C] [--repeat K] [--cold] [--keep]
#
# Generates one study of N (default 500) CT instances of R x C (default
# 512 x 512) 16-bit pixels, about 0.5 MB each, Explicit VR Little Endian
# (tests/data/make_study.py), and stores it (untimed) in build/scp/hokan-archive,
# which gets a throwaway database on the project-local PostgreSQL cluster, a
# throwaway storage root and a facility with store_ae_titles = BENCH,
# query_ae_titles = BENCH_VIEWER and move_destinations = BENCH_DEST@127.0.0.1:P,
# where P is the port of one storescp (bit-preserving, plain files, no fsync).
# Then, K times (default 3), alternating:
#   move     movescu -aet BENCH_VIEWER -aem BENCH_DEST at STUDY level: hokan sends
#            the study to storescp over one association; timed until movescu exits
#   direct   storescu of the N source files to the same storescp over one
#            association; timed until storescu exits
# Before each run the storescp output directory is emptied and `sync` runs;
# with --cold the kernel's page cache is dropped too (root only:
# /proc/sys/vm/drop_caches), so both hokan and storescu read the files from disk;
# after it, N files must have arrived. Prints the median seconds, instances/s
# and MB/s (10^6 bytes of source file size per second) of each, and the ratio
# direct seconds / move seconds (1.0: C-MOVE is as fast as sending directly).
# Every DCMTK program (storescu, storescp, movescu, echoscu, hokan-archive)
# runs with TCP_NODELAY=1 in its environment. Everything (processes, the
# temporary directory under var/, the database) is removed on exit; --keep
# keeps the directory and logs for inspection.
#
# This is a measurement, never part of the test verdict. See bench/README.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"

COUNT=500
ROWS=512
COLUMNS=512
REPEAT=3
COLD=0
KEEP=0
while (( $# > 0 )); do
    case "$1" in
        --count)   COUNT="$2"; shift 2 ;;
        --rows)    ROWS="$2"; shift 2 ;;
        --columns) COLUMNS="$2"; shift 2 ;;
        --repeat)  REPEAT="$2"; shift 2 ;;
        --cold)    COLD=1; shift ;;
        --keep)    KEEP=1; shift ;;
        -h|--help) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "move_bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
if ! [[ "$COUNT" =~ ^[0-9]+$ ]] || (( COUNT < 1 )); then
    echo "move_bench: --count must be a number >= 1" >&2
    exit 2
fi
if ! [[ "$REPEAT" =~ ^[0-9]+$ ]] || (( REPEAT < 1 )); then
    echo "move_bench: --repeat must be a number >= 1" >&2
    exit 2
fi
if (( COLD )) && ! [[ -w /proc/sys/vm/drop_caches ]]; then
    echo "move_bench: --cold drops the page cache and needs root (/proc/sys/vm/drop_caches is not writable)" >&2
    exit 2
fi

STORE_AE=BENCH          # stores the study into hokan (store_ae_titles)
VIEWER_AE=BENCH_VIEWER  # asks for the C-MOVE (query_ae_titles)
DEST_AE=BENCH_DEST      # storescp, the move destination
ARCHIVE_AE=HOKAN
RUN_TIMEOUT=300       # seconds one movescu or storescu run may take before the bench gives up

BENCH_NAME=move_bench
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"   # PY, ARCHIVE, READY_TIMEOUT, TCP_NODELAY=1, log, die, ...

require_tools storescu storescp movescu echoscu dcmdump psql
[[ -f tests/data/make_study.py ]] || die "tests/data/make_study.py is missing"

# --- cleanup ---------------------------------------------------------------------
CLIENT=""          # movescu or storescu of the run in progress
# cleanup_clients: called first by the EXIT trap (bench/lib.sh).
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup_clients() {
    if [[ -n "$CLIENT" ]]; then
        kill -TERM "$CLIENT" 2>/dev/null || true
        wait "$CLIENT" 2>/dev/null || true
    fi
}
bench_traps

# --- build -----------------------------------------------------------------------
build_archive

# --- database server -------------------------------------------------------------
start_database

# --- data ------------------------------------------------------------------------
# Under var/ rather than /tmp: hokan stores to (and reads back from) a real
# disk, the same one the project-local database uses, and so does storescp.
make_workdir bench
DATA="$WORK/data"
log "generating $COUNT instances of ${ROWS}x${COLUMNS} in $DATA"
"$PY" tests/data/make_study.py --out "$DATA" --count "$COUNT" --rows "$ROWS" --columns "$COLUMNS" \
    --patient-id BENCH0001 --modality CT --series-count 1 >/dev/null
mapfile -t FILES < <(find "$DATA" -name '*.dcm' -type f | sort)
(( ${#FILES[@]} == COUNT )) || die "expected $COUNT files in $DATA, found ${#FILES[@]}"
TOTAL_BYTES="$(du -cb "${FILES[@]}" | tail -n1 | cut -f1)"
STUDY_UID="$(dcmdump -q -s +P StudyInstanceUID "${FILES[0]}" | sed -n 's/^.*UI \[\([0-9.]*\)\].*$/\1/p' | head -n1)"
[[ -n "$STUDY_UID" ]] || die "cannot read StudyInstanceUID from ${FILES[0]}"

# run_client LOG COMMAND...: runs one client in the background of the main
# shell (so a signal's trap runs at once), waits for it and sets ELAPSED to
# the seconds from its start until it exited. Dies with its log if it fails.
ELAPSED=""
run_client() {
    local logfile="$1" start end rc=0
    shift
    start="$(date +%s.%N)"
    timeout "$RUN_TIMEOUT" "$@" >"$logfile" 2>&1 &
    CLIENT=$!
    wait "$CLIENT" || rc=$?
    end="$(date +%s.%N)"
    CLIENT=""
    if (( rc != 0 )); then
        tail -n 10 "$logfile" >&2 || true
        die "$1 failed with exit status $rc (log: $logfile)"
    fi
    ELAPSED="$(seconds_between "$start" "$end")"
}

# --- receivers -------------------------------------------------------------------
DEST_DIR="$WORK/storescp"
DEST_PORT="$(free_port)"
ARCHIVE_PORT="$(free_port)"
mkdir -p "$DEST_DIR" "$WORK/storage"

# Configuration for hokan: the example plus a facility that BENCH stores for,
# BENCH_VIEWER queries for and whose studies may be moved to BENCH_DEST.
CONFIG="$WORK/bench.ini"
cp config/hokan.example.ini "$CONFIG"
printf '\n[facility.bench]\nstore_ae_titles = %s\nquery_ae_titles = %s\nallowed_peers =\nmove_destinations = %s@127.0.0.1:%s\nprovision_contract = true\nprovision_quota_bytes = 1T\n' \
    "$STORE_AE" "$VIEWER_AE" "$DEST_AE" "$DEST_PORT" >>"$CONFIG"

DB="hokan_bench_move_$$"
create_database "$DB"   # sets DB_URL

# hokan at info level: one line per association and per C-MOVE (with its own ms).
spawn_server "$WORK/hokan.log" "$ARCHIVE" --config "$CONFIG" --port "$ARCHIVE_PORT" --storage-root "$WORK/storage" \
    --database-url "$DB_URL" --log-level info
wait_ready "$STORE_AE" "$SERVER_PID" "$ARCHIVE_AE" "$ARCHIVE_PORT" "$WORK/hokan.log"

# storescp: one association at a time (no --fork: there is only ever one),
# bit-preserving, plain files, no fsync; the same options as in ingest_bench.sh.
spawn_server "$WORK/storescp.log" storescp +B +xa -dhl -pdu 65536 -aet "$DEST_AE" -od "$DEST_DIR" "$DEST_PORT"
wait_ready "$STORE_AE" "$SERVER_PID" "$DEST_AE" "$DEST_PORT" "$WORK/storescp.log"

# --- store the study (untimed) ---------------------------------------------------
log "storing the study in hokan (untimed)"
run_client "$WORK/store.log" storescu -aet "$STORE_AE" -aec "$ARCHIVE_AE" localhost "$ARCHIVE_PORT" "${FILES[@]}"
log "stored in ${ELAPSED}s"
stored="$(psql -X -qtA "$DB_URL" -c 'SELECT count(*) FROM instances')"
(( stored == COUNT )) || die "hokan indexed $stored of $COUNT instances (log: $WORK/hokan.log)"

# --- timed runs ------------------------------------------------------------------
clear_dest() {
    find "$DEST_DIR" -mindepth 1 -delete
}

# before_run: writes back what the previous run wrote; with --cold, also
# drops the page cache so that the next run reads its source files from disk.
before_run() {
    sync
    if (( COLD )); then
        echo 3 >/proc/sys/vm/drop_caches
    fi
}

check_dest() { # check_dest WHAT LOG
    local arrived
    arrived="$(find "$DEST_DIR" -type f | wc -l)"
    (( arrived == COUNT )) || die "$1: storescp received $arrived of $COUNT files (log: $2, $WORK/hokan.log, $WORK/storescp.log)"
}

RESULTS=()   # "kind run seconds"
for ((run = 1; run <= REPEAT; run++)); do
    clear_dest
    before_run
    log "run $run/$REPEAT: C-MOVE via hokan"
    logfile="$WORK/move$run.log"
    run_client "$logfile" movescu -S -aet "$VIEWER_AE" -aec "$ARCHIVE_AE" -aem "$DEST_AE" \
        -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$STUDY_UID" localhost "$ARCHIVE_PORT"
    # movescu exits 0 even when the C-MOVE fails; the final status is in its log.
    if grep -q -E '^[EW]: ' "$logfile"; then
        tail -n 10 "$logfile" >&2
        die "movescu reported a problem (log: $logfile)"
    fi
    check_dest "C-MOVE run $run" "$logfile"
    RESULTS+=("move $run $ELAPSED")

    clear_dest
    before_run
    log "run $run/$REPEAT: storescu directly"
    logfile="$WORK/direct$run.log"
    run_client "$logfile" storescu -aet "$STORE_AE" -aec "$DEST_AE" localhost "$DEST_PORT" "${FILES[@]}"
    check_dest "storescu run $run" "$logfile"
    RESULTS+=("direct $run $ELAPSED")
done

# hokan's own view of each C-MOVE, its last log line: "C-MOVE to BENCH_DEST from
# BENCH_VIEWER ...: 500 completed, 0 failed, ..., 1234 ms" (request to final response).
mapfile -t SERVER_MS < <(sed -n "s/^.*C-MOVE to $DEST_AE from $VIEWER_AE.* \([0-9][0-9]*\) ms\$/\1/p" "$WORK/hokan.log")

# --- report ----------------------------------------------------------------------
echo
echo "move benchmark: 1 study of $COUNT instances, ${ROWS}x${COLUMNS} 16-bit CT, $((TOTAL_BYTES / COUNT)) bytes each," \
     "$(awk -v b="$TOTAL_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB in all; $REPEAT run(s) each, to storescp over 1 association"
fstype="$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")"
echo "machine: $(nproc) CPUs, $fstype at $WORK; hokan build: ${BUILD_TYPE:-?}; page cache: $( (( COLD )) && echo 'dropped before each run (cold)' || echo 'warm')"
printf '%s\n' "${RESULTS[@]}" | awk -v count="$COUNT" -v bytes="$TOTAL_BYTES" -v server="${SERVER_MS[*]:-}" '
    function median(kind,    n, i, j, t, v) {
        n = runs[kind]
        for (i = 1; i <= n; i++) v[i] = secs[kind, i]
        for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function all(kind,    i, s) {
        for (i = 1; i <= runs[kind]; i++) s = s (i > 1 ? " " : "") sprintf("%.2f", secs[kind, i])
        return s
    }
    { secs[$1, $2] = $3; runs[$1] = $2 }
    END {
        printf "%-8s %-32s %10s %12s %10s   %s\n", "path", "", "median s", "instances/s", "MB/s", "runs (s)"
        label["move"] = "C-MOVE: movescu -> hokan -> storescp"
        label["direct"] = "direct: storescu -> storescp"
        for (k = 1; k <= 2; k++) {
            kind = k == 1 ? "move" : "direct"
            m[kind] = median(kind)
            printf "%-8s %-32s %10.2f %12.1f %10.1f   %s\n", kind, substr(label[kind], index(label[kind], ":") + 2),
                m[kind], count / m[kind], bytes / 1e6 / m[kind], all(kind)
        }
        if (server != "") {
            n = split(server, ms, " ")
            s = ""
            for (i = 1; i <= n; i++) s = s (i > 1 ? " " : "") sprintf("%.2f", ms[i] / 1000)
            printf "hokan'"'"'s own C-MOVE time (request to final response), per run (s): %s\n", s
        }
        printf "\nratio move/direct (direct seconds / move seconds, medians): %.2f  (aim >= 0.80)\n",
            m["direct"] / m["move"]
    }'
