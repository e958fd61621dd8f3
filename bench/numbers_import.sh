#!/usr/bin/env bash
# Time of one CSV import of 100,000 numbers (`POST /v1/numbers/import`, all or nothing, one
# transaction) into a fresh SQLite database, through the REST API of a release build.
#
# Builds the release binary, bootstraps a fresh state directory, starts `dialtone serve` with a
# config that raises http.request_timeout_s (the ~3.4 MB file fits http.max_import_bytes),
# generates the CSV (+1 212 NXX XXXX numbers with a tag), posts it with
# curl as text/csv and prints the wall time of the request. Then it checks `total` of
# GET /v1/numbers and that posting the same file again is refused with a row error per line
# and writes nothing.
#
# Knobs: BENCH_ROWS (100000), BENCH_SKIP_BUILD=1, BENCH_BIN=path, BENCH_KEEP=1,
# BENCH_QUIET_WAIT (s, default 0) / BENCH_QUIET_CORES (0.25), as in the other scripts.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if ((SMOKE)); then
    : "${BENCH_ROWS:=200}"
fi

ROWS="${BENCH_ROWS:-100000}"
((ROWS >= 1 && ROWS <= 100000)) || die "BENCH_ROWS must be 1-100000 (the import's limit)"

need_cmd curl
need_cmd jq
build_release

STATE_DIR=$(mktemp -d -t dialtone-numbers.XXXXXX)
DAEMON_PID=""
cleanup() {
    stop_daemon
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
        log "kept $STATE_DIR"
    else
        rm -rf "$STATE_DIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(free_port)
log "state directory $STATE_DIR, listening on 127.0.0.1:$PORT"
cat >"$STATE_DIR/bench.toml" <<'TOML'
[http]
request_timeout_s = 600
TOML

dialtone_env "$BIN" migrate >/dev/null || die "migrate failed"
bootstrap
dialtone_vars
env "${DIALTONE_VARS[@]}" "$BIN" serve --config "$STATE_DIR/bench.toml" >>"$STATE_DIR/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_ready 60
check_loopback_only
TOKEN=$(login)

CSV="$STATE_DIR/numbers.csv"
# Exchanges 200-999 and lines 0000-9999 of area code 212: 800 × 10,000 distinct valid numbers.
awk -v rows="$ROWS" 'BEGIN {
    print "number,state,tags"
    for (i = 0; i < rows; i++) printf "+1212%03d%04d,available,bench\n", 200 + int(i / 10000), i % 10000
}' >"$CSV"
log "generated $ROWS rows ($(stat -c %s "$CSV") bytes)"

busy=$(wait_quiet)
log "machine busy before the import: $busy cores"
out=$(curl -sS --max-time 600 -X POST -H "Authorization: Bearer $TOKEN" -H 'Accept: application/json' \
    -H 'Content-Type: text/csv' --data-binary "@$CSV" \
    -w '\n%{http_code} %{time_total}' "http://127.0.0.1:$PORT/v1/numbers/import") ||
    die "import: curl failed"
status_line="${out##*$'\n'}"
body="${out%$'\n'*}"
code="${status_line%% *}"
seconds="${status_line##* }"
[[ "$code" == 201 ]] || die "import answered $code: ${body:0:500}"
[[ $(jq -r '.data.imported' <<<"$body") == "$ROWS" ]] || die "import did not report $ROWS: $body"
total=$(api GET '/v1/numbers?limit=1' | jq -r '.total')
[[ "$total" == "$ROWS" ]] || die "GET /v1/numbers total is $total, expected $ROWS"

again=$(curl -sS --max-time 600 -X POST -H "Authorization: Bearer $TOKEN" -H 'Accept: application/json' \
    -H 'Content-Type: text/csv' --data-binary "@$CSV" -w '\n%{http_code} %{time_total}' \
    "http://127.0.0.1:$PORT/v1/numbers/import") || die "second import: curl failed"
again_line="${again##*$'\n'}"
again_body="${again%$'\n'*}"
[[ "${again_line%% *}" == 400 ]] || die "second import answered ${again_line%% *}, expected 400"
# At most 100 bad rows are listed; the rest are counted in errors_omitted.
[[ $(jq '(.errors | length) + (.errors_omitted // 0)' <<<"$again_body") == "$ROWS" ]] \
    || die "second import: not one error per row"
total=$(api GET '/v1/numbers?limit=1' | jq -r '.total')
[[ "$total" == "$ROWS" ]] || die "the refused import wrote something: total $total"
if grep -q ' ERROR ' "$STATE_DIR/daemon.log"; then
    grep ' ERROR ' "$STATE_DIR/daemon.log" | head -5 >&2
    die "the daemon logged errors"
fi

printf 'numbers_import rows=%s seconds=%s rows_per_second=%s refused_reimport_seconds=%s background_cores=%s\n' \
    "$ROWS" "$seconds" "$(awk -v r="$ROWS" -v s="$seconds" 'BEGIN {printf "%.0f", r / s}')" \
    "${again_line##* }" "$busy"
