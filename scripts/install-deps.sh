#!/usr/bin/env bash
# Installs the Debian 12 packages hokan needs to build, test and run.
# Idempotent and quick when everything is present: it asks dpkg which packages
# are missing and runs apt-get only for those (with one `apt-get update` when
# the package lists are missing or an install fails on stale lists).
# Needs root (or sudo) only when something has to be installed.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    libdcmtk-dev dcmtk
    libpqxx-dev
    libboost-dev libboost-program-options-dev
    libfmt-dev catch2 libssl-dev libsqlite3-dev
    postgresql-15 postgresql-client-15
    python3-pydicom python3-numpy
    procps
    faketime  # README "Tests": the suite run with the date moved (libfaketime)
)

# One dpkg-query for all packages; unknown ones are simply absent from its output.
installed=" $({ dpkg-query -W -f='${db:Status-Status}:${Package}\n' "${PACKAGES[@]}" 2>/dev/null || true; } \
    | sed -n 's/^installed://p' | tr '\n' ' ') "
missing=()
for pkg in "${PACKAGES[@]}"; do
    [[ "$installed" == *" $pkg "* ]] || missing+=("$pkg")
done

if (( ${#missing[@]} == 0 )); then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-deps: error: missing packages and not root; run as root:" >&2
        echo "  apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() {
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    "${SUDO[@]}" apt-get update -q
    apt_install
elif ! apt_install; then
    echo "install-deps: install failed; refreshing the package lists and retrying" >&2
    "${SUDO[@]}" apt-get update -q
    apt_install
fi
echo "install-deps: done"
