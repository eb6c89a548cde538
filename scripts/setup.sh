#!/usr/bin/env bash
# Installs what hubsync needs on a Debian 12 machine; does nothing when it is all there.
set -euo pipefail

PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
# chromium and chromium-driver: the dashboard's browser test (scripts/dashboard-browser.sh).
PACKAGES=(postgresql-15 postgresql-server-dev-15 libclang-dev clang pkg-config libssl-dev sudo python3-venv curl chromium chromium-driver)

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    as_root=()
    [ "$(id -u)" -eq 0 ] || as_root=(sudo)
    "${as_root[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q "${missing[@]}"
fi

if ! cargo pgrx --version 2>/dev/null | grep -q '0\.18\.0'; then
    echo "setup: installing cargo-pgrx 0.18.0 (takes a few minutes)"
    cargo install cargo-pgrx --version 0.18.0 --locked
fi

if ! grep -qs "pg15" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
    cargo pgrx init --pg15 "$PG_CONFIG"
fi
