# Starting the emulator from a script (sourced, not run): the demo, the benchmarks and the
# conformance check share it.

# emulator_start LOGFILE [args...]: starts the emulator (EMULATOR_BIN, default the debug
# build) on a free port, waits for the URL it prints, sets EMULATOR_PID and EMULATOR_URL.
# The args come first so they may begin with a system (`netsuite …`).
emulator_start() {
    local log=$1
    shift
    # Created here, not by the background job's redirection, so the first read below
    # cannot race it (under `set -e -o pipefail` a missing file ends the caller).
    : >"$log"
    "${EMULATOR_BIN:-target/debug/hubsync-emulator}" "$@" --port 0 >"$log" 2>&1 &
    EMULATOR_PID=$!
    for _ in $(seq 200); do
        EMULATOR_URL=$(sed -n 's/^listening on //p' "$log" | head -n1)
        [ -n "$EMULATOR_URL" ] && return 0
        kill -0 "$EMULATOR_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "the emulator did not start:" >&2
    cat "$log" >&2
    return 1
}
