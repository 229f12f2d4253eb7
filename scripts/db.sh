#!/usr/bin/env bash
# Project-local PostgreSQL 15 cluster for development, tests and benchmarks.
#
#   bash scripts/db.sh start    create (first time) and start the cluster; create database "hokan"
#   bash scripts/db.sh stop     stop it (data is kept)
#   bash scripts/db.sh status   print whether it runs (exit 0 running, 3 stopped, 4 not created)
#   bash scripts/db.sh url [DB] print the libpq conninfo of database DB (default "hokan")
#   bash scripts/db.sh psql [ARGS...]   psql on database "hokan" (extra args go to psql)
#
# Layout (all under $REPO/var/pg, which git ignores):
#   data/   the cluster (PGDATA)        log/   postgresql.log
#   run/    unix socket directory (0700, owned by the cluster user)
#
# The server listens on a unix socket only (listen_addresses = ''), port 5433,
# trust authentication, superuser "hokan"; fsync stays on.
#
# initdb refuses to run as root. As root the cluster belongs to the system user
# "hokan" (created here if missing) and initdb/pg_ctl run as that user; root can
# still connect through the socket. As any other user the cluster belongs to
# that user. Once created, the cluster is always run as the owner of data/.
#
# The cluster user must be able to traverse every parent directory of the
# checkout. If it cannot, "start" stops with a message naming the chmod o+x to
# run; with CI=true or HOKAN_DB_GRANT_TRAVERSE=1 it grants o+x itself (search
# permission only: nobody gains the right to list those directories).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PG_ROOT="$REPO/var/pg"
PGDATA="$PG_ROOT/data"
PG_RUN="$PG_ROOT/run"
PG_LOG_DIR="$PG_ROOT/log"
PG_LOG="$PG_LOG_DIR/postgresql.log"
PG_PORT=5433
PG_SUPERUSER=hokan
PG_DB=hokan
SYSTEM_USER=hokan
PGBIN=/usr/lib/postgresql/15/bin
START_DEADLINE_SECONDS="${HOKAN_DB_START_TIMEOUT:-60}"

die() { echo "db.sh: error: $*" >&2; exit 1; }
note() { echo "db.sh: $*" >&2; }

conninfo() { # conninfo DBNAME
    printf 'host=%s port=%s user=%s dbname=%s' "$PG_RUN" "$PG_PORT" "$PG_SUPERUSER" "$1"
}

[[ -x "$PGBIN/pg_ctl" ]] || die "PostgreSQL 15 not found in $PGBIN (run: bash scripts/install-deps.sh)"

# A unix socket path is limited to 107 bytes.
socket_path="$PG_RUN/.s.PGSQL.$PG_PORT"
if (( ${#socket_path} > 107 )); then
    die "the socket path '$socket_path' is longer than 107 bytes; use a checkout with a shorter path, or point HOKAN_DATABASE_URL at another server"
fi

# --- who runs the cluster -------------------------------------------------------
is_root() { [[ "$(id -u)" == 0 ]]; }

cluster_user() {
    if [[ -d "$PGDATA" ]] && [[ -f "$PGDATA/PG_VERSION" ]]; then
        stat -c %U "$PGDATA"
    elif is_root; then
        echo "$SYSTEM_USER"
    else
        id -un
    fi
}

CLUSTER_USER="$(cluster_user)"

# The lock descriptor (9) is closed for the command: a postmaster started from
# here must not inherit it, or the lock would be held while the server runs.
as_cluster_user() { # run a command as the cluster user, from a directory it can enter
    if is_root; then
        (cd / && runuser -u "$CLUSTER_USER" -- "$@" 9>&-)
    elif [[ "$(id -un)" == "$CLUSTER_USER" ]]; then
        "$@" 9>&-
    else
        die "the cluster in $PGDATA belongs to '$CLUSTER_USER'; run this as that user or as root"
    fi
}

ensure_system_user() {
    is_root || return 0
    [[ "$CLUSTER_USER" == "$SYSTEM_USER" ]] || return 0
    if ! id -u "$SYSTEM_USER" >/dev/null 2>&1; then
        note "creating system user '$SYSTEM_USER' to own the PostgreSQL cluster"
        useradd --system --no-create-home --shell /usr/sbin/nologin "$SYSTEM_USER"
    fi
}

# Every directory above var/pg must be searchable (x) by the cluster user.
ensure_traversable() {
    is_root || return 0   # a normal user running this script can traverse its own checkout
    if runuser -u "$CLUSTER_USER" -- test -x "$PG_ROOT" 2>/dev/null; then
        return 0
    fi
    local dir="$PG_ROOT" blocked=()
    while [[ "$dir" != "/" ]]; do
        dir="$(dirname "$dir")"
        # Directories the cluster user neither owns nor may search as "other".
        if [[ "$(stat -c %U "$dir")" != "$CLUSTER_USER" ]] && [[ "$(stat -c %A "$dir")" != *x ]] \
            && [[ "$(stat -c %A "$dir")" != *t ]]; then
            blocked=("$dir" "${blocked[@]}")
        fi
    done
    if (( ${#blocked[@]} > 0 )) && [[ "${CI:-}" == "true" || "${HOKAN_DB_GRANT_TRAVERSE:-}" == "1" ]]; then
        note "granting o+x (traverse only, not listing) on: ${blocked[*]}"
        chmod o+x "${blocked[@]}"
        runuser -u "$CLUSTER_USER" -- test -x "$PG_ROOT" 2>/dev/null \
            || die "user '$CLUSTER_USER' still cannot reach $PG_ROOT"
        return 0
    fi
    local hint="chmod o+x ${blocked[*]}"
    (( ${#blocked[@]} > 0 )) || hint="(check the permissions and ACLs of the directories above $PG_ROOT)"
    die "user '$CLUSTER_USER' (owner of the PostgreSQL cluster) cannot reach $PG_ROOT.
  Grant it traverse permission on the parent directories:
    $hint
  or rerun with HOKAN_DB_GRANT_TRAVERSE=1 to let this script do exactly that,
  or set HOKAN_DATABASE_URL to use another PostgreSQL server."
}

make_dirs() {
    mkdir -p "$PG_ROOT"
    if is_root; then
        chown "$CLUSTER_USER:" "$PG_ROOT"
        chmod 0755 "$PG_ROOT"
    fi
    ensure_traversable
    as_cluster_user mkdir -p "$PG_LOG_DIR" "$PG_RUN"
    as_cluster_user chmod 0700 "$PG_RUN"
}

write_as_cluster_user() { # write_as_cluster_user FILE append|replace  (content on stdin)
    # shellcheck disable=SC2016  # $1 and $2 are expanded by the inner sh
    as_cluster_user sh -c 'if [ "$2" = append ]; then cat >> "$1"; else cat > "$1"; fi' sh "$1" "$2"
}

initdb_locale() {
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then echo C.UTF-8; else echo C; fi
}

pg_quote() { # a value as a postgresql.conf string literal
    local v="${1//\'/\'\'}"
    printf "'%s'" "$v"
}

init_cluster() {
    if [[ -f "$PGDATA/PG_VERSION" ]]; then
        return 0
    fi
    if [[ -e "$PGDATA" ]]; then
        note "removing the remains of an unfinished initdb in $PGDATA"
        rm -rf "$PGDATA"
    fi
    note "creating the PostgreSQL cluster in $PGDATA (owner: $CLUSTER_USER)"
    as_cluster_user "$PGBIN/initdb" --pgdata="$PGDATA" --auth=trust --username="$PG_SUPERUSER" \
        --encoding=UTF8 --locale="$(initdb_locale)" >"$PG_LOG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_LOG_DIR/initdb.log" >&2; die "initdb failed (log: $PG_LOG_DIR/initdb.log)"; }
    printf "\n# hokan: the settings scripts/db.sh manages\ninclude_if_exists = 'hokan.conf'\n" \
        | write_as_cluster_user "$PGDATA/postgresql.conf" append
}

# Rewritten at every start so that a moved checkout still gets the right socket path.
write_settings() {
    {
        echo "# Written by scripts/db.sh at every start; edits here are lost."
        echo "listen_addresses = ''"
        echo "port = $PG_PORT"
        echo "unix_socket_directories = $(pg_quote "$PG_RUN")"
        echo "unix_socket_permissions = 0700"
        echo "fsync = on"
        echo "max_connections = 200"
        echo "logging_collector = off"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        echo "log_min_messages = warning"
    } | write_as_cluster_user "$PGDATA/hokan.conf" replace
}

# 0 running, 3 stopped (pg_ctl status convention)
server_state() {
    [[ -f "$PGDATA/PG_VERSION" ]] || return 4
    local rc=0
    as_cluster_user "$PGBIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1 || rc=$?
    if [[ $rc == 0 ]]; then
        # A postmaster.pid whose PID now belongs to some other process (after a
        # reboot or a kill -9) makes pg_ctl believe the server runs.
        local pid
        pid="$(head -n1 "$PGDATA/postmaster.pid" 2>/dev/null || true)"
        if [[ -n "$pid" ]] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" != postgres* ]]; then
            note "removing stale $PGDATA/postmaster.pid (PID $pid is not a postgres process)"
            as_cluster_user rm -f "$PGDATA/postmaster.pid"
            return 3
        fi
        return 0
    fi
    return 3
}

wait_ready() {
    local deadline=$((SECONDS + START_DEADLINE_SECONDS))
    until "$PGBIN/pg_isready" -q -h "$PG_RUN" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres; do
        if (( SECONDS >= deadline )); then
            tail -n 30 "$PG_LOG" >&2 2>/dev/null || true
            die "PostgreSQL did not become ready within ${START_DEADLINE_SECONDS}s (log: $PG_LOG)"
        fi
        sleep 0.2
    done
}

ensure_database() {
    local exists
    exists="$("$PGBIN/psql" -X -qtA -v ON_ERROR_STOP=1 "$(conninfo postgres)" \
        -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")"
    if [[ "$exists" != 1 ]]; then
        note "creating database '$PG_DB'"
        "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$(conninfo postgres)" -c "CREATE DATABASE $PG_DB"
    fi
}

with_lock() { # serialise start/stop between concurrent invocations
    mkdir -p "$REPO/var"
    exec 9>"$REPO/var/.pg.lock"
    flock -w 120 9 || die "another scripts/db.sh holds $REPO/var/.pg.lock"
}

cmd_start() {
    with_lock
    ensure_system_user
    make_dirs
    init_cluster
    local rc=0
    server_state || rc=$?
    if [[ $rc != 0 ]]; then
        write_settings
        note "starting PostgreSQL (socket $PG_RUN, port $PG_PORT, log $PG_LOG)"
        # The server runs on the real clock even when the tests run under
        # faketime: hokan passes every time it writes as a parameter (one
        # clock), and PostgreSQL's own timers (deadlock_timeout, lock_timeout)
        # stall under libfaketime's preload.
        as_cluster_user env -u LD_PRELOAD -u FAKETIME -u FAKETIME_DONT_FAKE_MONOTONIC \
            "$PGBIN/pg_ctl" start -D "$PGDATA" -l "$PG_LOG" -w -t "$START_DEADLINE_SECONDS" >/dev/null \
            || { tail -n 30 "$PG_LOG" >&2 2>/dev/null || true; die "pg_ctl start failed (log: $PG_LOG)"; }
    fi
    wait_ready
    ensure_database
    note "PostgreSQL is ready: $(conninfo "$PG_DB")"
}

cmd_stop() {
    with_lock
    local rc=0
    server_state || rc=$?
    case $rc in
        0) as_cluster_user "$PGBIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t 60 >/dev/null
           note "PostgreSQL stopped" ;;
        4) note "no cluster in $PGDATA" ;;
        *) note "PostgreSQL is not running" ;;
    esac
}

cmd_status() {
    local rc=0
    server_state || rc=$?
    case $rc in
        0) echo "running: $(conninfo "$PG_DB") (data $PGDATA, owner $CLUSTER_USER)" ;;
        4) echo "not created: $PGDATA (run: bash scripts/db.sh start)" ;;
        *) echo "stopped: $PGDATA" ;;
    esac
    return "$rc"
}

case "${1:-}" in
    start)  cmd_start ;;
    stop)   cmd_stop ;;
    status) cmd_status ;;
    url)    conninfo "${2:-$PG_DB}"; echo ;;
    psql)   shift; exec "$PGBIN/psql" "$(conninfo "$PG_DB")" "$@" ;;
    *)      echo "usage: $0 {start|stop|status|url [DBNAME]|psql [psql args...]}" >&2; exit 2 ;;
esac
