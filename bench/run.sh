#!/usr/bin/env bash
# The benchmarks in one command (`make bench`): builds hubsync (release) into the
# PostgreSQL that HUBSYNC_PG_CONFIG names, starts a private cluster with hubsync preloaded
# and the Salesforce emulator, runs every scenario (bench/README.md) and writes
# bench/results/<date>.json and bench/results/<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

HUBSYNC_PG_CONFIG=${HUBSYNC_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_BIN=$("$HUBSYNC_PG_CONFIG" --bindir)
export PG_BIN
BENCH_DIR=${BENCH_DIR:-/tmp/hubsync-bench}
BENCH_PORT=${BENCH_PORT:-54339}
TARGET=${CARGO_TARGET_DIR:-target}

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    sudo_flag=()
    [ "$(id -u)" -eq 0 ] || sudo_flag=(--sudo)
    cargo pgrx install --release "${sudo_flag[@]}" --pg-config "$HUBSYNC_PG_CONFIG"
    cargo build --release -p hubsync-emulator --bin hubsync-emulator --example loadgen
    cargo build --release -p hubsync-bench
fi

. scripts/cluster.sh
. scripts/emulator.sh
cleanup() {
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "== left running (BENCH_KEEP=1): $PG_BIN/psql -h 127.0.0.1 -p $BENCH_PORT -U postgres bench; emulators $EMULATOR_URL $ZENDESK_URL $NETSUITE_URL (pids $EMULATOR_PID $ZENDESK_PID $NETSUITE_PID)" >&2
        return
    fi
    cluster_stop "$BENCH_DIR"
    for pid in "${EMULATOR_PID:-}" "${ZENDESK_PID:-}" "${NETSUITE_PID:-}"; do
        [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

echo "== PostgreSQL from $PG_BIN on port $BENCH_PORT (data in $BENCH_DIR), hubsync preloaded" >&2
# BENCH_PG_SETTINGS: extra postgresql.conf lines separated by ';' (for profiling runs,
# e.g. "shared_preload_libraries = 'hubsync,pg_stat_statements';pg_stat_statements.track = all").
IFS=';' read -r -a extra_settings <<<"${BENCH_PG_SETTINGS:-}"
cluster_start "$BENCH_DIR" "$BENCH_PORT" "hubsync.database = 'bench'" "${extra_settings[@]}"
# The spokes (scenario 6). Zendesk's per-minute request and export limits are lifted so the
# figures are throughput rather than a plan's budget; its jobs keep their default queueing
# (--job-delay-ms 50). NetSuite keeps its default concurrency limit (15).
EMULATOR_BIN="$TARGET/release/hubsync-emulator" emulator_start "$BENCH_DIR/zendesk.log" \
    zendesk --rate-limit 1000000000 --export-rate-limit 1000000000 --export-lag-secs 0
ZENDESK_URL=$EMULATOR_URL ZENDESK_PID=$EMULATOR_PID
EMULATOR_BIN="$TARGET/release/hubsync-emulator" emulator_start "$BENCH_DIR/netsuite.log" netsuite
NETSUITE_URL=$EMULATOR_URL NETSUITE_PID=$EMULATOR_PID
EMULATOR_BIN="$TARGET/release/hubsync-emulator" emulator_start "$BENCH_DIR/emulator.log" \
    --schema emulator/examples/schema.json --api-limit 1000000000
echo "== emulators: Salesforce $EMULATOR_URL, Zendesk $ZENDESK_URL, NetSuite $NETSUITE_URL" >&2
PSQL=("$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$BENCH_PORT" -U postgres -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE bench"
"${PSQL[@]}" -d bench -c "CREATE EXTENSION hubsync" -c "SELECT hubsync.wait_for_worker()" >/dev/null

command="bench/run.sh"
[ "$HUBSYNC_PG_CONFIG" = /usr/lib/postgresql/15/bin/pg_config ] || command="HUBSYNC_PG_CONFIG=$HUBSYNC_PG_CONFIG $command"
[ -z "${BENCH_QUICK:-}" ] || command="BENCH_QUICK=$BENCH_QUICK $command"

BENCH_PG_PORT=$BENCH_PORT BENCH_PG_BIN=$PG_BIN BENCH_EMULATOR_URL=$EMULATOR_URL \
BENCH_ZENDESK_URL=$ZENDESK_URL BENCH_NETSUITE_URL=$NETSUITE_URL \
BENCH_LOADGEN="$TARGET/release/examples/loadgen" BENCH_COMMAND=${BENCH_COMMAND:-$command} \
    "$TARGET/release/hubsync-bench"
