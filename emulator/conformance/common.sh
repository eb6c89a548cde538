# Sourced by the conformance scripts (after `set -euo pipefail`): the work folder, a
# Python virtualenv holding one pinned client, and the emulator binary under test.

conformance_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$conformance_here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="${HUBSYNC_CONFORMANCE_DIR:-$target/conformance}"
mkdir -p "$work"

# conformance_venv DIR REQUIREMENT CHECK: makes DIR a venv (installing Debian's
# python3-venv first when root and missing) and pip-installs REQUIREMENT unless the
# Python expression CHECK already holds in it.
conformance_venv() {
    local venv=$1 requirement=$2 check=$3
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
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    if ! "$venv/bin/python" -c "import sys; sys.exit(not ($check))" >/dev/null 2>&1; then
        "$venv/bin/pip" install --quiet --disable-pip-version-check "$requirement"
    fi
}

# conformance_emulator LOGFILE [args...]: builds the emulator, starts it with the args
# (a system such as `netsuite` may come first), sets EMULATOR_URL and stops it on exit.
conformance_emulator() {
    (cd "$root" && cargo build --quiet -p hubsync-emulator)
    . "$root/scripts/emulator.sh"
    EMULATOR_BIN="$target/debug/hubsync-emulator" emulator_start "$@"
    trap 'kill "$EMULATOR_PID" 2>/dev/null || true' EXIT
}
