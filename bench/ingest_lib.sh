# shellcheck shell=bash
# The runs and the report of bench/ingest_bench.sh; sourced after bench/lib.sh,
# never run. Received files stay until the end of the benchmark: deleting
# thousands of files just before a run makes ext4's inode allocator skip the
# recently freed inodes one by one (find_inode_bit, recently_deleted), which
# would charge the next receiver for the previous one's clean-up. Uses the sourcing script's FILES, CHUNKS, CONFIG, CALLING_AE,
# SEND_TIMEOUT, SENDERS, PERF, RESULTS and WORKLOAD_* variables.
#
# This is a measurement helper, never part of the test verdict. See bench/README.md.

CLOCK_TICKS="$(getconf CLK_TCK)"

# machine_cpu: prints "total idle iowait" jiffies of all CPUs (/proc/stat).
machine_cpu() {
    awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $5, $6; exit }' /proc/stat
}

# tree_cpu PID: prints the CPU ticks (user + system, with waited-for children)
# of PID and of its living descendants; 0 for a process that is gone.
tree_cpu() {
    local pid="$1" ticks child
    ticks="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }')"
    ticks="${ticks:-0}"
    for child in $(pgrep -P "$pid" 2>/dev/null); do
        ticks=$((ticks + $(tree_cpu "$child")))
    done
    echo "$ticks"
}

# children_cpu FILE: writes the CPU ticks (user + system) of the main shell's
# waited-for children (the storescu processes) to FILE. In the main shell, not
# in $(...): a subshell has its own, empty, account.
children_cpu() {
    times >"$1"
    awk -v hz="$CLOCK_TICKS" 'NR == 2 {
        split($1, u, /[ms]/); split($2, s, /[ms]/)
        printf "%.0f\n", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * hz }' "$1" >"$1.ticks"
}

# postgres_pid: the postmaster of the project-local cluster, or "" when the
# benchmark uses another server (HOKAN_DATABASE_URL).
postgres_pid() {
    local data
    [[ -z "${HOKAN_DATABASE_URL:-}" ]] || return 0
    data="$(psql -X -qtA "$ADMIN_URL" -c 'SHOW data_directory' 2>/dev/null)" || return 0
    head -n1 "$data/postmaster.pid" 2>/dev/null || true
}

# send AE PORT LOGPREFIX SERVER_PID: storescu in parallel, one process per entry
# of CHUNKS, timed; then appends the run's line to RESULTS (WORKLOAD, TARGET and
# N from the caller) with the machine's idle and I/O-wait shares and the CPU
# per instance of SERVER_PID's tree and of PostgreSQL.
# (Runs in the main shell, not in $(...), so a signal's trap runs at once.)
send() {
    local ae="$1" port="$2" prefix="$3" server="$4" start end failed=0 perf_pid=""
    local postmaster cpu_before cpu_after server_before server_after pg_before=0 pg_after=0
    postmaster="$(postgres_pid)"
    sync
    if (( PERF == 1 )) && [[ $TARGET == hokan* ]]; then
        # The whole machine: hokan-archive and PostgreSQL's backends alike.
        perf record -q -g -a -o "$prefix.perf.data" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    children_cpu "$prefix.times"
    local client_before client_after
    client_before="$(cat "$prefix.times.ticks")"
    cpu_before="$(machine_cpu)"
    server_before="$(tree_cpu "$server")"
    [[ -z "$postmaster" ]] || pg_before="$(tree_cpu "$postmaster")"
    start="$(date +%s.%N)"
    run_storescus "$ae" "$port" "$prefix" || failed=1
    end="$(date +%s.%N)"
    cpu_after="$(machine_cpu)"
    server_after="$(tree_cpu "$server")"
    [[ -z "$postmaster" ]] || pg_after="$(tree_cpu "$postmaster")"
    children_cpu "$prefix.times"
    client_after="$(cat "$prefix.times.ticks")"
    if [[ -n "$perf_pid" ]]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        perf report -i "$prefix.perf.data" --stdio --no-children --percent-limit 0.5 \
            --comms hokan-archive,postgres --sort comm,dso,sym -g none >"$prefix.perf.txt" 2>/dev/null || true
        log "profile: $prefix.perf.txt"
    fi
    (( failed == 0 )) || die "sending to $ae over ${#CHUNKS[@]} association(s) failed"
    local count="${#FILES[@]}" pg_field="-"
    [[ -z "$postmaster" || $TARGET != hokan* ]] \
        || pg_field="$(awk -v t=$((pg_after - pg_before)) -v hz="$CLOCK_TICKS" -v n="$count" \
                       'BEGIN { printf "%.3f", t * 1000 / hz / n }')"
    # Fields: workload target associations seconds idle% iowait% then CPU ms per
    # instance of the receiver, PostgreSQL (or -), the storescu clients, and
    # everything else that ran on the machine meanwhile.
    RESULTS+=("$WORKLOAD $TARGET ${#CHUNKS[@]} $(seconds_between "$start" "$end") $(
        awk -v b="$cpu_before" -v a="$cpu_after" -v hz="$CLOCK_TICKS" -v n="$count" \
            -v server=$((server_after - server_before)) -v pg=$((pg_after - pg_before)) \
            -v client=$((client_after - client_before)) -v pg_field="$pg_field" 'BEGIN {
            split(b, x, " "); split(a, y, " "); t = y[1] - x[1]
            idle = y[2] - x[2]; wait = y[3] - x[3]; busy = t - idle - wait
            if (pg_field == "-") pg = 0
            per = 1000 / hz / n
            printf "%.0f %.0f %.3f %s %.3f %.3f", 100 * idle / t, 100 * wait / t, server * per,
                pg_field, client * per, (busy - server - pg - client) * per }')")
}

# run_storescp WORKLOAD N: a fresh storescp receives FILES as CHUNKS say.
run_storescp() {
    WORKLOAD="$1" TARGET=storescp
    local n="$2" dir="$WORK/storescp-$1-$2" port stored
    mkdir -p "$dir"
    port="$(free_port)"
    # --fork: one process per association, so 4 associations are served in parallel.
    spawn_server "$dir.log" storescp --fork +B +xa -dhl -pdu 65536 -aet STORESCP -od "$dir" "$port"
    wait_ready "$CALLING_AE" "$SERVER_PID" STORESCP "$port" "$dir.log"
    log "$WORKLOAD: storescp, $n association(s)"
    send STORESCP "$port" "$dir" "$SERVER_PID"
    stop_server "$SERVER_PID"
    stored="$(find "$dir" -type f | wc -l)"
    (( stored == ${#FILES[@]} )) || die "storescp stored $stored of ${#FILES[@]} files"
}

# run_hokan WORKLOAD N [TARGET BINARY]: a fresh hokan-archive (new database and
# storage root); TARGET (default hokan) names the run, BINARY (default ARCHIVE)
# is the program.
run_hokan() {
    WORKLOAD="$1" TARGET="${3:-hokan}"
    local n="$2" binary="${4:-$ARCHIVE}" dir="$WORK/$TARGET-$1-$2" db="${TARGET}_bench_$$_$1_$2"
    local url port stored
    mkdir -p "$dir/storage"
    create_database "$db"
    url="$DB_URL"
    port="$(free_port)"
    spawn_server "$dir.log" "$binary" --config "$CONFIG" --port "$port" --storage-root "$dir/storage" \
        --database-url "$url" --log-level warn
    wait_ready "$CALLING_AE" "$SERVER_PID" HOKAN "$port" "$dir.log"
    log "$WORKLOAD: $TARGET, $n association(s)"
    send HOKAN "$port" "$dir" "$SERVER_PID"
    stop_server "$SERVER_PID"
    # Transactions per instance: how well the commit batches group stores
    # (read after the archive's backends exited and reported their counts).
    RESULTS[-1]+=" $(psql -X -qtA "$url" -c "SELECT round(xact_commit::numeric / ${#FILES[@]}, 2)
                                             FROM pg_stat_database WHERE datname = current_database()")"
    stored="$(psql -X -qtA "$url" -c 'SELECT count(*) FROM instances')"
    (( stored == ${#FILES[@]} )) || die "hokan indexed $stored of ${#FILES[@]} instances (log: $dir.log)"
}

# run_orthanc WORKLOAD N: a fresh Orthanc (new SQLite index and storage folder).
run_orthanc() {
    WORKLOAD="$1" TARGET=orthanc
    local n="$2" dir="$WORK/orthanc-$1-$2" port http stored
    mkdir -p "$dir/storage" "$dir/index"
    port="$(free_port)"
    http="$(free_port)"
    cat >"$dir.json" <<EOF
{
  "Name": "ingest_bench",
  "StorageDirectory": "$dir/storage",
  "IndexDirectory": "$dir/index",
  "DicomAet": "ORTHANC",
  "DicomPort": $port,
  "HttpPort": $http,
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "DicomCheckCalledAet": false,
  "Plugins": []
}
EOF
    spawn_server "$dir.log" Orthanc "$dir.json"
    wait_ready "$CALLING_AE" "$SERVER_PID" ORTHANC "$port" "$dir.log"
    log "$WORKLOAD: orthanc, $n association(s)"
    send ORTHANC "$port" "$dir" "$SERVER_PID"
    stored="$("$PY" -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1]))["CountInstances"])' "http://127.0.0.1:$http/statistics")"
    stop_server "$SERVER_PID"
    (( stored == ${#FILES[@]} )) || die "orthanc stored $stored of ${#FILES[@]} instances (log: $dir.log)"
}

# report: the table of RESULTS with ratios to storescp of the same workload.
report() {
    echo
    echo "ingest benchmark, $(date -u +%FT%TZ); machine: $(nproc) CPUs," \
         "$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK") at $WORK;" \
         "hokan build: ${BUILD_TYPE:-?}"
    local workload
    for workload in "${!WORKLOAD_COUNT[@]}"; do
        echo "  $workload: ${WORKLOAD_COUNT[$workload]} instances," \
             "$(( WORKLOAD_BYTES[$workload] / WORKLOAD_COUNT[$workload] )) bytes each"
    done
    printf '%s\n' "${RESULTS[@]}" | awk -v counts="$(for w in "${!WORKLOAD_COUNT[@]}"; do
            printf '%s=%s=%s ' "$w" "${WORKLOAD_COUNT[$w]}" "${WORKLOAD_BYTES[$w]}"; done)" '
        BEGIN {
            n = split(counts, entries, " ")
            for (i = 1; i <= n; i++) { split(entries[i], f, "="); count[f[1]] = f[2]; bytes[f[1]] = f[3] }
            printf "%-12s %-14s %5s %8s %11s %8s %6s %5s %7s %9s %9s %9s %9s %9s\n", "workload",
                "target", "assoc", "seconds", "instances/s", "MB/s", "ratio", "idle%", "iowait%",
                "server", "postgres", "clients", "other", "xact/inst"
        }
        {
            ips = count[$1] / $4; mbs = bytes[$1] / 1e6 / $4
            if ($2 == "storescp") reference[$1, $3] = ips
            ratio = reference[$1, $3] ? sprintf("%.2f", ips / reference[$1, $3]) : "-"
            printf "%-12s %-14s %5d %8.2f %11.1f %8.1f %6s %5d %7d %9s %9s %9s %9s %9s\n",
                $1, $2, $3, $4, ips, mbs, ratio, $5, $6, $7, $8, $9, $10, (NF >= 11 ? $11 : "-")
        }
        END {
            print "\nratio: instances/s against storescp on the same workload and associations."
            print "idle%, iowait%: share of all CPUs idle / waiting for I/O during the run (/proc/stat)."
            print "server, postgres, clients, other: CPU milliseconds per instance of the receiver"
            print "process (with its children), the project-local PostgreSQL cluster, the storescu"
            print "processes, and everything else busy on the machine meanwhile (kernel threads, other work)."
            print "xact/inst: committed transactions in hokan'"'"'s database per instance (commit batching)."
        }'
}
