#!/usr/bin/env bash
# Copies the install scripts of earlier hubsync versions (sql/hubsync--<version>.sql) into the
# server's extension directory, so that `CREATE EXTENSION hubsync VERSION '<version>'` works.
# `cargo pgrx install` generates the current version's install script and copies only the
# upgrade scripts (sql/hubsync--<from>--<to>.sql); `make install` runs this after it.
# Usage: scripts/install-sql.sh [pg_config]
set -euo pipefail

PG_CONFIG=${1:-/usr/lib/postgresql/15/bin/pg_config}
cd "$(dirname "$0")/.."
extension_dir="$("$PG_CONFIG" --sharedir)/extension"
current=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

for script in sql/hubsync--*.sql; do
    name=$(basename "$script")
    [[ $name == hubsync--*--*.sql ]] && continue
    if [[ $name == "hubsync--$current.sql" ]]; then
        echo "install-sql: $script would replace the generated install script of $current; remove it" >&2
        exit 1
    fi
    "${as_root[@]}" install -m 644 "$script" "$extension_dir/$name"
done
