#!/usr/bin/env bash
# Independent conformance check: drives the emulator binary with a real Salesforce
# client libraries (simple-salesforce 1.12.10 for REST and Bulk API 2.0, aiosfstream-ng
# 0.7.5 for Change Data Capture over CometD) and fails on any mismatch.
# Usage: emulator/conformance/run.sh   (non-interactive; Debian 12 + python3 3.11)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="${HUBSYNC_CONFORMANCE_DIR:-$target/conformance}"
mkdir -p "$work"

# python3 -m venv needs ensurepip, which Debian ships in the python3-venv package.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "conformance: installing python3-venv (needed by python3 -m venv on Debian)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
        echo "conformance: python3 -m venv is unavailable; install the python3-venv package (apt-get install python3-venv) and rerun" >&2
        exit 2
    fi
fi

venv="$work/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import aiosfstream_ng, simple_salesforce, sys; sys.exit(simple_salesforce.__version__ != "1.12.10")' >/dev/null 2>&1; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "simple-salesforce==1.12.10" "aiosfstream-ng==0.7.5"
fi

(cd "$root" && cargo build --quiet -p hubsync-emulator)
binary="$target/debug/hubsync-emulator"

. "$root/scripts/emulator.sh"
EMULATOR_BIN="$binary" emulator_start "$work/emulator.log" --schema "$root/emulator/examples/schema.json"
trap 'kill "$EMULATOR_PID" 2>/dev/null || true' EXIT

"$venv/bin/python" "$here/conformance.py" "$EMULATOR_URL"
