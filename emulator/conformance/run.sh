#!/usr/bin/env bash
# Independent conformance check: drives the emulator binary with a real Salesforce
# client library (simple-salesforce 1.12.10) and fails on any mismatch.
# Usage: emulator/conformance/run.sh   (non-interactive; Debian 12 + python3 3.11)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/common.sh"

venv="$work/venv"
conformance_venv "$venv" "simple-salesforce==1.12.10" \
    "__import__('simple_salesforce').__version__ == '1.12.10'"
conformance_emulator "$work/emulator.log" --schema "$root/emulator/examples/schema.json"

"$venv/bin/python" "$here/conformance.py" "$EMULATOR_URL"
