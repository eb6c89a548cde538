#!/usr/bin/env bash
# The main job: a private PostgreSQL 15 with hubsync preloaded, the Salesforce emulator,
# and the product brief's Salesforce <-> Postgres sync, end to end; then a second org on the
# same table, with Postgres as the hub between the two; then the brief's hub block across
# Salesforce, NetSuite and Zendesk. Run it with `make demo`.
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
        echo "Left running (KEEP=1): psql -h 127.0.0.1 -p $DEMO_PORT -U postgres customer_data; emulators at ${EMULATOR_URLS[*]}"
        return
    fi
    cluster_stop "$DEMO_DIR"
    for pid in "${EMULATOR_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
}
EMULATOR_PIDS=() EMULATOR_URLS=()
# started LOGFILE [args...]: starts an emulator and remembers it for the cleanup.
started() {
    emulator_start "$@"
    EMULATOR_PIDS+=("$EMULATOR_PID")
    EMULATOR_URLS+=("$EMULATOR_URL")
}
trap cleanup EXIT

# A person working in Salesforce, through its REST API.
# salesforce ORG_URL METHOD PATH [BODY]: a REST call to an emulated org, as a person there would.
salesforce() {
    local org=$1 method=$2 path=$3 body=${4:-}
    local token
    token=$(curl -s -X POST "$org/services/oauth2/token" \
        -d grant_type=client_credentials -d client_id=hubsync-demo-client -d client_secret=hubsync-demo-secret |
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
    curl -s -X "$method" "$org/services/data/v59.0/$path" \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${body:+-d "$body"}
}

echo "== starting PostgreSQL 15 (port $DEMO_PORT, data in $DEMO_DIR) and the Salesforce emulator"
cluster_start "$DEMO_DIR" "$DEMO_PORT" "hubsync.database = 'customer_data'" "hubsync.sweep_interval = '200ms'"
started "$DEMO_DIR/emulator.log"
ORG_A_URL=$EMULATOR_URL
echo "   emulator: $ORG_A_URL"
"${PSQL[@]}" -d postgres -c "CREATE DATABASE customer_data"
"${PSQL[@]}" -d customer_data -v emulator="$ORG_A_URL" -f scripts/demo.sql

echo
echo "== meanwhile, in Salesforce: Globex moves to Aerospace, and a new account is created there"
globex=$("${PSQL[@]}" -d customer_data -At -c "SELECT sf_id FROM accounts WHERE account_name = 'Globex'")
salesforce "$ORG_A_URL" PATCH "sobjects/Account/$globex" '{"Industry": "Aerospace"}'
salesforce "$ORG_A_URL" POST sobjects/Account '{"Name": "Stark Industries", "Industry": "Defense", "AnnualRevenue": 125000000}' >/dev/null
"${PSQL[@]}" -d customer_data -f scripts/demo-pull.sql

echo
echo "== the hub: a second Salesforce org joins the same table (a second emulator)"
started "$DEMO_DIR/emulator-b.log"
echo "   second org: $EMULATOR_URL"
"${PSQL[@]}" -d customer_data -v emulator_b="$EMULATOR_URL" -f scripts/demo-hub.sql
echo
echo "== meanwhile, in the second org: a new account is created there"
salesforce "$EMULATOR_URL" POST sobjects/Account '{"Name": "Wayne Enterprises", "Industry": "Conglomerate", "AnnualRevenue": 310000000}' >/dev/null
"${PSQL[@]}" -d customer_data -f scripts/demo-relay.sql

echo
echo "== the brief's hub block: Salesforce, NetSuite and Zendesk (two more emulators)"
started "$DEMO_DIR/emulator-netsuite.log" netsuite --schema emulator/examples/netsuite-schema.json \
    --data emulator/examples/netsuite-data.json
NETSUITE_URL=$EMULATOR_URL
started "$DEMO_DIR/emulator-zendesk.log" zendesk --schema emulator/examples/zendesk-schema.json \
    --export-lag-secs 0
ZENDESK_URL=$EMULATOR_URL
echo "   NetSuite: $NETSUITE_URL, Zendesk: $ZENDESK_URL"
"${PSQL[@]}" -d customer_data -v salesforce_url="$ORG_A_URL" -v netsuite_url="$NETSUITE_URL" \
    -v zendesk_url="$ZENDESK_URL" -f scripts/demo-brief-hub.sql
