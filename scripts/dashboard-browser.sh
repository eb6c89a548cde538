#!/usr/bin/env bash
# The dashboard in a real browser: starts a private cluster with hubsync.dashboard_listen
# and a token file, the Salesforce emulator and the brief's sync, then drives Debian's
# chromium (scripts/setup.sh installs chromium and chromium-driver) with Selenium from a
# virtualenv through scripts/dashboard_browser.py. Needs `make install` first.
# Arguments go to the Python script (--screenshot PATH, --load-minutes N).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh
. scripts/emulator.sh

target="${CARGO_TARGET_DIR:-$PWD/target}"
work="$target/dashboard-browser"
venv="$target/browser-venv"
SELENIUM=selenium==4.50.0
mkdir -p "$work"

for program in chromium chromedriver; do
    command -v "$program" >/dev/null || { echo "dashboard browser test: $program is missing; run scripts/setup.sh" >&2; exit 2; }
done
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import selenium, sys; sys.exit(selenium.__version__ != '${SELENIUM#*==}')" 2>/dev/null ||
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$SELENIUM"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port=$(free_port)
dashboard_port=$(free_port)
cluster_dir="$work/cluster"
token=$(python3 -c 'import secrets; print(secrets.token_hex(24))')

cleanup() {
    cluster_stop "$cluster_dir"
    kill "${EMULATOR_PID:-}" 2>/dev/null || true
}
trap cleanup EXIT

cargo build --quiet -p hubsync-emulator
EMULATOR_BIN="$target/debug/hubsync-emulator" emulator_start "$work/emulator.log"
cluster_start "$cluster_dir" "$pg_port" "hubsync.database = 'customer_data'" \
    "hubsync.sweep_interval = '100ms'" \
    "hubsync.dashboard_listen = '127.0.0.1:$dashboard_port'" \
    "hubsync.dashboard_token_file = 'dashboard.token'"
# The token file lives in the data directory (a relative path is relative to it),
# readable by the server only.
printf '%s\n' "$token" | as_pg tee "$cluster_dir/data/dashboard.token" >/dev/null
as_pg chmod 600 "$cluster_dir/data/dashboard.token"
as_pg "$PG_BIN/pg_ctl" -D "$cluster_dir/data" reload >/dev/null

PSQL="psql -X -q -h 127.0.0.1 -p $pg_port -U postgres -v ON_ERROR_STOP=1"
$PSQL -d postgres -c "CREATE DATABASE customer_data"
$PSQL -d customer_data >/dev/null <<SQL
CREATE EXTENSION hubsync;
\i core/tests/fixtures/tables/accounts.sql
\set config \`cat core/tests/fixtures/bases/accounts_full.json\`
SELECT hubsync.create_sync(jsonb_set(:'config', '{source,credentials,instance_url}', to_jsonb('$EMULATOR_URL'::text)));
SELECT hubsync.set_credentials('SF_Postgres_Accounts',
    '{"client_id": "hubsync-demo-client", "client_secret": "hubsync-demo-secret"}');
INSERT INTO accounts (account_name, industry_type) VALUES ('Acme Corp', 'Manufacturing');
SQL

diagnose() {
    echo "--- hubsync.worker and hubsync.status" >&2
    $PSQL -d customer_data -x -c "SELECT * FROM hubsync.worker" -c "SELECT * FROM hubsync.status" >&2 || true
    echo "--- server log" >&2
    tail -n 40 "$cluster_dir/server.log" >&2
    exit 1
}
idle=$($PSQL -d customer_data -At -c "SELECT hubsync.wait_for_idle('SF_Postgres_Accounts', '120 seconds')")
[ "$idle" = t ] || { echo "dashboard browser test: the sync did not push its first row" >&2; diagnose; }

DASHBOARD_URL="http://127.0.0.1:$dashboard_port" DASHBOARD_TOKEN="$token" \
DASHBOARD_PSQL="$PSQL -d customer_data" EMULATOR_URL="$EMULATOR_URL" \
    "$venv/bin/python" scripts/dashboard_browser.py "$@" || diagnose
