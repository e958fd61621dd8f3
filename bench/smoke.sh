#!/usr/bin/env bash
# Runs every bench/*.sh with --smoke (tiny sizes, a few seconds each) and checks that each one
# succeeded and printed its figure; fails on any failure. `.ci/run` calls it after the tests, so a
# refactor cannot silently break a load script.
#
#   bench/smoke.sh                 # against the debug build (built here if missing)
#   BENCH_BIN=target/release/dialtone BENCH_EXAMPLES_DIR=target/release/examples bench/smoke.sh
#
# The figures of a smoke run mean nothing (debug build, tiny sizes, a shared machine): it checks
# that the whole path of each script runs, not how fast. Output of each script: $SMOKE_LOGS
# (default a temp dir, kept when something fails).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

export BENCH_BIN="${BENCH_BIN:-$repo/target/debug/dialtone}"
export BENCH_EXAMPLES_DIR="${BENCH_EXAMPLES_DIR:-$(dirname "$BENCH_BIN")/examples}"
export BENCH_SKIP_BUILD=1
if [[ ! -x "$BENCH_BIN" || ! -x "$BENCH_EXAMPLES_DIR/notify_phones" || ! -x "$BENCH_EXAMPLES_DIR/udp_responders" ||
    ! -x "$BENCH_EXAMPLES_DIR/webhook_sink" ]]; then
    [[ "$BENCH_BIN" == "$repo/target/debug/dialtone" ]] ||
        { echo "smoke: $BENCH_BIN or its examples in $BENCH_EXAMPLES_DIR are missing" >&2; exit 1; }
    echo "smoke: cargo build (debug) of dialtone and the loopback peers" >&2
    cargo build --quiet --bin dialtone --example notify_phones --example udp_responders \
        --example webhook_sink
fi
logs="${SMOKE_LOGS:-$(mktemp -d -t dialtone-smoke.XXXXXX)}"
mkdir -p "$logs"

# script, then the line (an extended regex) its output must have.
checks=(
    "api_load.sh" '^get_organization: [0-9]+ req/s'
    "startup_10k.sh" '^startup: median [0-9.]+ ms'
    "numbers_import.sh" '^numbers_import rows=200 seconds=[0-9.]+ rows_per_second=[0-9.]+'
    "redirect_sipp.sh" '^highest rate with < 0\.1% failed calls: [0-9]+ calls/s'
    "boot_storm.sh" '^ratio dialtone/nginx: [0-9.]+ of the requests/s'
    "notify_fanout.sh" '"ok":20,'
    "pinger_5000.sh" '^dialtone: [0-9]+ pings in [0-9.]+ s'
    "webhooks.sh" '^webhook_latency: [0-9]+ deliveries'
    "pinger_5000.sh" '^kamailio: [0-9]+ pings in [0-9.]+ s'
)

failed=()
declare -A ran
for ((i = 0; i < ${#checks[@]}; i += 2)); do
    script="${checks[i]}" want="${checks[i + 1]}" out="$logs/${checks[i]%.sh}.log"
    if [[ -z "${ran[$script]:-}" ]]; then
        started=$SECONDS
        echo "smoke: bench/$script --smoke" >&2
        if "bench/$script" --smoke >"$out" 2>&1; then
            ran[$script]=ok
        else
            ran[$script]="exit $?"
        fi
        echo "smoke: bench/$script: ${ran[$script]} in $((SECONDS - started)) s" >&2
    fi
    if [[ "${ran[$script]}" != ok ]]; then
        [[ " ${failed[*]} " == *" $script "* ]] || failed+=("$script")
    elif ! grep -qE -- "$want" "$out"; then
        echo "smoke: bench/$script printed no line matching $want" >&2
        failed+=("$script")
    fi
done

# Every script under bench/ is in the list, so a new one cannot be left out.
for script in bench/*.sh; do
    name=$(basename "$script")
    [[ "$name" == common.sh || "$name" == smoke.sh || -n "${ran[$name]:-}" ]] ||
        { echo "smoke: $script has no smoke check here" >&2; failed+=("$name"); }
done

if ((${#failed[@]})); then
    for script in "${failed[@]}"; do
        log="$logs/${script%.sh}.log"
        echo "---- bench/$script (last lines of $log)" >&2
        [[ -f "$log" ]] && tail -n 25 "$log" >&2
    done
    echo "smoke: FAILED: ${failed[*]} (logs in $logs)" >&2
    exit 1
fi
echo "smoke: all ${#ran[@]} bench scripts ran and printed their figures"
[[ -n "${SMOKE_LOGS:-}" ]] || rm -rf "$logs"
