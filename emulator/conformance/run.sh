#!/usr/bin/env bash
# Independent conformance check: drives the emulator binary with a real Salesforce
# client library (simple-salesforce 1.12.10) and fails on any mismatch.
# Usage: emulator/conformance/run.sh   (non-interactive; Debian 12 + python3 3.11)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="${HUBSYNC_CONFORMANCE_DIR:-$target/conformance}"
mkdir -p "$work"

. "$here/venv.sh"
venv="$work/venv"
conformance_venv "$venv" "simple-salesforce==1.12.10" \
    "__import__('simple_salesforce').__version__ == '1.12.10'"

(cd "$root" && cargo build --quiet -p hubsync-emulator)
binary="$target/debug/hubsync-emulator"

. "$root/scripts/emulator.sh"
EMULATOR_BIN="$binary" emulator_start "$work/emulator.log" --schema "$root/emulator/examples/schema.json"
trap 'kill "$EMULATOR_PID" 2>/dev/null || true' EXIT

"$venv/bin/python" "$here/conformance.py" "$EMULATOR_URL"
