#!/usr/bin/env bash
# Build hokan and run the archive in the foreground with the example configuration.
#
#   bash scripts/run.sh [hokan-archive options...]     e.g. --port 11113 --log-level debug
#
# Steps: install missing Debian packages -> configure and build in build/ ->
# start the project-local PostgreSQL (scripts/db.sh) -> exec build/scp/hokan-archive
# --config config/hokan.example.ini "$@". Stop it with Ctrl-C. A second run
# reuses the cluster, the database and var/storage.
#
# Environment:
#   HOKAN_DATABASE_URL  use this PostgreSQL server instead of the project-local
#                       cluster (which is then not started)
#   HOKAN_BUILD_TYPE    CMake build type (default RelWithDebInfo)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"
CONFIG=config/hokan.example.ini
ARCHIVE=build/scp/hokan-archive

bash scripts/install-deps.sh

echo "run.sh: building (build/, ${HOKAN_BUILD_TYPE:-RelWithDebInfo})"
cmake -S . -B build -DCMAKE_BUILD_TYPE="${HOKAN_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j"$(nproc)" --target hokan-archive
[[ -x "$ARCHIVE" ]] || { echo "run.sh: error: $ARCHIVE was not built" >&2; exit 1; }

if [[ -n "${HOKAN_DATABASE_URL:-}" ]]; then
    echo "run.sh: using the PostgreSQL server from HOKAN_DATABASE_URL"
else
    bash scripts/db.sh start
    HOKAN_DATABASE_URL="$(bash scripts/db.sh url)"
fi
export HOKAN_DATABASE_URL

# What the banner says: the example file's values unless overridden on the command line.
port=11112
ae_title=HOKAN
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --port)       port="${args[i + 1]:-$port}" ;;
        --port=*)     port="${args[i]#--port=}" ;;
        --ae-title)   ae_title="${args[i + 1]:-$ae_title}" ;;
        --ae-title=*) ae_title="${args[i]#--ae-title=}" ;;
    esac
done
sample=/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm

cat <<EOF

hokan-archive: AE title $ae_title, port $port, config $CONFIG
  database: $HOKAN_DATABASE_URL
  storage:  $REPO/var/storage (unless --storage-root is given)
Send a file from another terminal (calling AE DEMO_MODALITY, facility "demo"):
  storescu -aet DEMO_MODALITY -aec $ae_title localhost $port $sample
Look at the index:
  psql '$HOKAN_DATABASE_URL' -c 'SELECT sop_instance_uid, relative_path FROM instances'
Logs follow on stderr; stop with Ctrl-C.

EOF
exec "$ARCHIVE" --config "$CONFIG" "$@"
