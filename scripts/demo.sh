#!/usr/bin/env bash
# The main job: a private PostgreSQL 15 with hubsync preloaded, the Salesforce emulator,
# and the product brief's Salesforce <-> Postgres sync, end to end. Run it with `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh
. scripts/emulator.sh

DEMO_DIR=${DEMO_DIR:-/tmp/hubsync-demo}
DEMO_PORT=${DEMO_PORT:-54329}
PSQL=(psql -X -q -h 127.0.0.1 -p "$DEMO_PORT" -U postgres -v ON_ERROR_STOP=1)

cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo
        echo "Left running (KEEP=1): psql -h 127.0.0.1 -p $DEMO_PORT -U postgres customer_data; emulator at ${EMULATOR_URL:-}"
        return
    fi
    cluster_stop "$DEMO_DIR"
    [ -z "${EMULATOR_PID:-}" ] || kill "$EMULATOR_PID" 2>/dev/null || true
}
trap cleanup EXIT

# A person working in Salesforce, through its REST API.
salesforce() {
    local method=$1 path=$2 body=${3:-}
    local token
    token=$(curl -s -X POST "$EMULATOR_URL/services/oauth2/token" \
        -d grant_type=client_credentials -d client_id=hubsync-demo-client -d client_secret=hubsync-demo-secret |
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
    curl -s -X "$method" "$EMULATOR_URL/services/data/v59.0/$path" \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${body:+-d "$body"}
}

echo "== starting PostgreSQL 15 (port $DEMO_PORT, data in $DEMO_DIR) and the Salesforce emulator"
cluster_start "$DEMO_DIR" "$DEMO_PORT" "hubsync.database = 'customer_data'" "hubsync.sweep_interval = '200ms'"
emulator_start "$DEMO_DIR/emulator.log"
echo "   emulator: $EMULATOR_URL"
"${PSQL[@]}" -d postgres -c "CREATE DATABASE customer_data"
"${PSQL[@]}" -d customer_data -v emulator="$EMULATOR_URL" -f scripts/demo.sql

echo
echo "== meanwhile, in Salesforce: Globex moves to Aerospace, and a new account is created there"
globex=$("${PSQL[@]}" -d customer_data -At -c "SELECT sf_id FROM accounts WHERE account_name = 'Globex'")
salesforce PATCH "sobjects/Account/$globex" '{"Industry": "Aerospace"}'
salesforce POST sobjects/Account '{"Name": "Stark Industries", "Industry": "Defense", "AnnualRevenue": 125000000}' >/dev/null
"${PSQL[@]}" -d customer_data -f scripts/demo-pull.sql
