#!/usr/bin/env bash
# Ingest benchmark: hokan-archive against DCMTK's storescp and Orthanc (SQLite
# index), side by side in one run.
#
#   bash bench/ingest_bench.sh [--workloads LIST] [--large-count N] [--small-count N]
#                              [--study-count N] [--no-orthanc] [--compare NAME=BINARY]...
#                              [--perf] [--keep]
#
# Workloads (LIST is comma-separated; default all four):
#   large        N (default 2000) CT instances of 512 x 512 16-bit pixels (about
#                0.5 MB), one study, over 1 association and over 4 (files dealt
#                round-robin, so all four send the same series at once).
#   small        N (default 50000) instances of 64 x 64 (about 9.3 KB) in 50
#                studies of 4 series, over 4 associations, each sending whole
#                studies (study k on association k mod 4), as modalities do.
#   series       N (default 8000) small instances of one study with 4 series,
#                over 4 associations, association i sending series i.
#   interleaved  the same files, dealt in groups of four consecutive instances
#                (one of each series) round-robin over 4 associations: every
#                association sends every series of the one study at once, as a
#                router or a modality with parallel sends does.
# Receivers, each fresh for every run:
#   storescp   DCMTK's reference SCP writing plain files, no fsync (--fork, bit-preserving)
#   hokan      build/scp/hokan-archive with a throwaway database on the project-local
#              PostgreSQL cluster (fsync on) and a throwaway storage root
#   orthanc    Debian's Orthanc with its default SQLite index and storage folder
#              (skipped with --no-orthanc; apt-get install orthanc)
#   hokan-NAME with --compare NAME=BINARY (repeatable): that hokan-archive (e.g. a
#              build of an older commit), run right after hokan on the same files
# For each run it prints seconds, instances/s, MB/s, the ratio to storescp, the
# machine's idle and I/O-wait share of CPU time during the run (/proc/stat),
# and the CPU milliseconds per instance of the receiver process and of the
# PostgreSQL cluster's processes. Every DCMTK program and hokan-archive runs with
# TCP_NODELAY=1. `sync` runs before each timed run. --perf records a call-graph
# profile of the whole machine in each hokan run (perf record -a -g) and writes the
# top of `perf report` next to the logs (use with --keep).
#
# This is a measurement, never part of the test verdict. See bench/README.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"

WORKLOADS="large,small,series,interleaved"
LARGE_COUNT=2000
SMALL_COUNT=50000
STUDY_COUNT=8000
ORTHANC=1
COMPARE=()          # NAME=BINARY
PERF=0
KEEP=0
while (( $# > 0 )); do
    case "$1" in
        --workloads)   WORKLOADS="$2"; shift 2 ;;
        --large-count) LARGE_COUNT="$2"; shift 2 ;;
        --small-count) SMALL_COUNT="$2"; shift 2 ;;
        --study-count) STUDY_COUNT="$2"; shift 2 ;;
        --no-orthanc)  ORTHANC=0; shift ;;
        --compare)     COMPARE+=("$2"); shift 2 ;;
        --perf)        PERF=1; shift ;;
        --keep)        KEEP=1; shift ;;
        -h|--help) sed -n '2,39p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "ingest_bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
for value in "$LARGE_COUNT" "$SMALL_COUNT" "$STUDY_COUNT"; do
    if ! [[ "$value" =~ ^[0-9]+$ ]] || (( value < 200 )); then
        echo "ingest_bench: counts must be numbers >= 200" >&2
        exit 2
    fi
done
IFS=, read -r -a WORKLOAD_LIST <<<"$WORKLOADS"
for workload in "${WORKLOAD_LIST[@]}"; do
    case "$workload" in
        large|small|series|interleaved) ;;
        *) echo "ingest_bench: unknown workload '$workload' (large, small, series, interleaved)" >&2
           exit 2 ;;
    esac
done

CALLING_AE=BENCH
SEND_TIMEOUT=900      # seconds one storescu run may take before the bench gives up

BENCH_NAME=ingest_bench
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"   # PY, ARCHIVE, READY_TIMEOUT, TCP_NODELAY=1, log, die, ...
# shellcheck source=bench/ingest_lib.sh
source "$REPO/bench/ingest_lib.sh"   # send, cpu_snapshot, run_storescp, run_hokan, run_orthanc

require_tools storescu storescp echoscu psql
(( ORTHANC == 0 )) || require_tools Orthanc
(( PERF == 0 )) || require_tools perf
for entry in "${COMPARE[@]}"; do
    [[ "$entry" == ?*=?* && -x "${entry#*=}" ]] || die "--compare $entry: want NAME=BINARY, an executable"
done
[[ -f tests/data/make_study.py ]] || die "tests/data/make_study.py is missing"

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

build_archive
start_database

# Under var/ rather than /tmp: the receivers must write to a real disk (a tmpfs
# would make fsync free), the same one the project-local database uses.
make_workdir bench

# Configuration for hokan: the defaults (port, storage root and database come
# on the command line) and a facility that BENCH may store for. Only keys
# every compared build knows: an older build refuses a key it does not.
CONFIG="$WORK/bench.ini"
printf "[archive]\nae_title = HOKAN\n" >"$CONFIG"
printf "\n[facility.bench]\nstore_ae_titles = %s\nallowed_peers =\nprovision_contract = true\nprovision_quota_bytes = 1T\n" "$CALLING_AE" >>"$CONFIG"

# make_files DIR STUDIES PER_STUDY SIZE SERIES: STUDIES studies of PER_STUDY
# instances of SIZE x SIZE pixels over SERIES series, one patient per study.
make_files() {
    local dir="$1" studies="$2" per_study="$3" size="$4" series="$5" k
    log "generating $((studies * per_study)) instances of ${size}x${size} in $dir"
    for ((k = 0; k < studies; k++)); do
        "$PY" tests/data/make_study.py --out "$dir/$(printf 'S%03d' "$k")" --count "$per_study" \
            --rows "$size" --columns "$size" --series-count "$series" \
            --patient-id "$(printf 'BENCH%04d' "$k")" --modality CT >/dev/null
    done
}

declare -A WORKLOAD_FILES_DIR=() WORKLOAD_BYTES=() WORKLOAD_COUNT=()
prepare() {
    local workload="$1" dir
    case "$workload" in
        large) dir="$WORK/large"; [[ -d $dir ]] || make_files "$dir" 1 "$LARGE_COUNT" 512 1 ;;
        small) dir="$WORK/small"
               [[ -d $dir ]] || make_files "$dir" 50 $((SMALL_COUNT / 50)) 64 4 ;;
        series|interleaved) dir="$WORK/study"; [[ -d $dir ]] || make_files "$dir" 1 "$STUDY_COUNT" 64 4 ;;
    esac
    mapfile -t FILES < <(find "$dir" -name '*.dcm' -type f | sort)
    WORKLOAD_FILES_DIR[$workload]="$dir"
    WORKLOAD_COUNT[$workload]="${#FILES[@]}"
    WORKLOAD_BYTES[$workload]="$(find "$dir" -name '*.dcm' -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')"
}

# chunks_for WORKLOAD ASSOCIATIONS: fills CHUNK_0..CHUNK_{A-1} (newline-separated
# file lists) with the files each association sends, in order.
deal() {
    local workload="$1" n="$2" k=0 file study index
    local -a lists=()
    for ((k = 0; k < n; k++)); do lists[k]=""; done
    k=0
    for file in "${FILES[@]}"; do
        case "$workload" in
            large)       index=$((k % n)) ;;
            small)       study="${file%/*}"; study="${study##*/S}"; index=$((10#$study % n)) ;;
            series)      index=$((k % 4 % n)) ;;          # make_study deals series round-robin
            interleaved) index=$((k / 4 % n)) ;;          # four consecutive files: one per series
        esac
        lists[index]+="$file"$'\n'
        k=$((k + 1))
    done
    CHUNKS=("${lists[@]}")
}

RESULTS=()   # "workload target assoc seconds idle% iowait% server_ms_per_instance pg_ms_per_instance"

for workload in "${WORKLOAD_LIST[@]}"; do
    prepare "$workload"
    if [[ $workload == large ]]; then associations=(1 4); else associations=(4); fi
    for n in "${associations[@]}"; do
        deal "$workload" "$n"
        run_storescp "$workload" "$n"
        run_hokan "$workload" "$n"
        for entry in "${COMPARE[@]}"; do
            run_hokan "$workload" "$n" "hokan-${entry%%=*}" "${entry#*=}"
        done
        (( ORTHANC == 0 )) || run_orthanc "$workload" "$n"
    done
done

report
