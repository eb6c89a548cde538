#!/usr/bin/env bash
# Independent conformance check of the NetSuite emulator: drives
# `hubsync-emulator netsuite` with the PyPI client netsuite 0.12.0 (TBA) and fails on
# any mismatch. Usage: emulator/conformance/netsuite.sh   (non-interactive)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/common.sh"

venv="$work/venv-netsuite"
conformance_venv "$venv" "netsuite==0.12.0" \
    "__import__('importlib.metadata').metadata.version('netsuite') == '0.12.0'"
conformance_emulator "$work/emulator-netsuite.log" netsuite

"$venv/bin/python" "$here/netsuite.py" "$EMULATOR_URL"
