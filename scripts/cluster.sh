# Private PostgreSQL 15 clusters for the demo and the benchmarks (sourced, not run).
# As root, server programs run as the `postgres` OS user, because initdb refuses root.

PG_BIN=${PG_BIN:-$(/usr/lib/postgresql/15/bin/pg_config --bindir)}

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then sudo -u postgres -- "$@"; else "$@"; fi
}

# cluster_start DIR PORT [extra postgresql.conf lines...]
cluster_start() {
    local dir=$1 port=$2
    shift 2
    [ ! -d "$dir/data" ] || cluster_stop "$dir"
    rm -rf "$dir" && mkdir -p "$dir"
    [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$dir"
    as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
    {
        echo "port = $port"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$dir'"
        echo "shared_preload_libraries = 'hubsync'"
        for line in "$@"; do echo "$line"; done
    } | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

cluster_stop() {
    as_pg "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
}
