#!/usr/bin/env bash
# Independent conformance check: drives the emulator binary with real Salesforce
# client libraries (simple-salesforce 1.12.10 for REST and Bulk API 2.0, aiosfstream-ng
# 0.7.5 for Change Data Capture over CometD) and fails on any mismatch.
# Usage: emulator/conformance/run.sh   (non-interactive; Debian 12 + python3 3.11)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/common.sh"

venv="$work/venv"
conformance_venv "$venv" "simple-salesforce==1.12.10" \
    "__import__('simple_salesforce').__version__ == '1.12.10'"
conformance_venv "$venv" "aiosfstream-ng==0.7.5" \
    "__import__('importlib.metadata').metadata.version('aiosfstream-ng') == '0.7.5'"
conformance_emulator "$work/emulator.log" --schema "$root/emulator/examples/schema.json"

"$venv/bin/python" "$here/conformance.py" "$EMULATOR_URL"
