#!/usr/bin/env bash
# Independent conformance check of the NetSuite emulator: drives
# `hubsync-emulator netsuite` with the PyPI client netsuite 0.12.0 (TBA) and fails on
# any mismatch. Usage: emulator/conformance/netsuite.sh   (non-interactive)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="${HUBSYNC_CONFORMANCE_DIR:-$target/conformance}"
mkdir -p "$work"

. "$here/venv.sh"
venv="$work/venv-netsuite"
conformance_venv "$venv" "netsuite==0.12.0" \
    "__import__('importlib.metadata').metadata.version('netsuite') == '0.12.0'"

(cd "$root" && cargo build --quiet -p hubsync-emulator)
binary="$target/debug/hubsync-emulator"

. "$root/scripts/emulator.sh"
EMULATOR_BIN="$binary" emulator_start "$work/emulator-netsuite.log" netsuite
trap 'kill "$EMULATOR_PID" 2>/dev/null || true' EXIT

"$venv/bin/python" -W ignore::DeprecationWarning "$here/netsuite.py" "$EMULATOR_URL"
