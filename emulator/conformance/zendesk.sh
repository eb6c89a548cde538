#!/usr/bin/env bash
# Independent conformance check of the Zendesk emulator: drives
# `hubsync-emulator zendesk` with the PyPI client zenpy 2.0.57 and fails on any
# mismatch. Usage: emulator/conformance/zendesk.sh   (non-interactive)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/common.sh"

venv="$work/venv-zendesk"
conformance_venv "$venv" "zenpy==2.0.57" \
    "__import__('importlib.metadata').metadata.version('zenpy') == '2.0.57'"
conformance_emulator "$work/emulator-zendesk.log" zendesk \
    --schema "$root/emulator/examples/zendesk-schema.json"

"$venv/bin/python" "$here/zendesk.py" "$EMULATOR_URL"
