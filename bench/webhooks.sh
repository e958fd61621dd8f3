#!/usr/bin/env bash
# Webhook delivery: signed deliveries per second to loopback receivers, and delivery latency
# while the API is under load.
#
#   bench/webhooks.sh [--smoke]
#
# Runs `dialtone serve` (release, SQLite in a temp dir, [webhooks] allow_private on for the
# loopback receivers) and $HOOKS receivers (examples/webhook_sink.rs: verify every signature,
# answer 204). Two runs:
#   1. throughput: $BACKLOG test messages are queued to the endpoints while they are inactive
#      (POST /v1/webhooks/{id}/test with wrk), then every endpoint is turned on at once; the
#      figure is deliveries per second from that PUT to the last delivery the receivers saw.
#   2. latency: the API is loaded with wrk (GET /v1/organizations, $CONNECTIONS connections) while
#      one paced connection queues test messages ($RATE per second); the receivers report p50 and
#      p99 of (arrival − the message's timestamp).
# Knobs: HOOKS (8), BACKLOG (20000), RATE (100), DURATION (15 s), CONNECTIONS (16),
# BENCH_SKIP_BUILD=1, BENCH_KEEP=1. All traffic is on 127.0.0.1.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if ((SMOKE)); then
    : "${HOOKS:=2}" "${BACKLOG:=200}" "${DURATION:=2}" "${CONNECTIONS:=2}"
fi
HOOKS="${HOOKS:-8}"
BACKLOG="${BACKLOG:-20000}"
RATE="${RATE:-100}"
DURATION="${DURATION:-15}"
CONNECTIONS="${CONNECTIONS:-16}"

need_cmd wrk
need_cmd curl
need_cmd jq
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 && -z "${BENCH_BIN:-}" ]]; then
    log "cargo build --release --example webhook_sink"
    (cd "$REPO_DIR" && cargo build --release --quiet --example webhook_sink) || die "build failed"
fi
build_release
SINK="$EXAMPLES_DIR/webhook_sink"
[[ -x "$SINK" ]] || die "$SINK missing"

STATE_DIR=$(mktemp -d -t dialtone-webhooks.XXXXXX)
DAEMON_PID=""
SINK_PIDS=()
cleanup() {
    for pid in "${SINK_PIDS[@]}"; do stop_pid "$pid" 5; done
    stop_daemon
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then log "kept $STATE_DIR"; else rm -rf "$STATE_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(free_port)
export DIALTONE_WEBHOOKS_ALLOW_PRIVATE=true
bootstrap
start_daemon
wait_ready 60
check_loopback_only
TOKEN=$(login)

HOOK_IDS=()
SINK_PORTS=()
for i in $(seq 1 "$HOOKS"); do
    sink_port=$(free_port)
    created=$(api POST /v1/webhooks \
        "{\"url\":\"http://127.0.0.1:$sink_port/hook\",\"events\":[\"webhook.test\"],\"active\":false}")
    HOOK_IDS+=("$(jq -r .data.id <<<"$created")")
    SINK_PORTS+=("$sink_port")
    "$SINK" --port "$sink_port" --secret "$(jq -r .data.secret <<<"$created")" \
        --stats "$STATE_DIR/sink$i.stats" &
    SINK_PIDS+=($!)
done
sleep 0.3
HOOK_LIST=$(IFS=,; echo "${HOOK_IDS[*]}")

stat_sum() { # key: the sum over the receivers' stats files
    cat "$STATE_DIR"/sink*.stats 2>/dev/null | awk -v k="$1" '$1 == k {s += $2} END {print s + 0}'
}
stat_max() {
    cat "$STATE_DIR"/sink*.stats 2>/dev/null | awk -v k="$1" '$1 == k && $2 > m {m = $2} END {print m + 0}'
}

# 1. Throughput from a backlog.
log "queueing $BACKLOG test messages to $HOOKS inactive endpoints"
queued=0
while ((queued < BACKLOG)); do
    DIALTONE_BENCH_TOKEN="$TOKEN" DIALTONE_BENCH_HOOKS="$HOOK_LIST" \
        wrk -t 2 -c 8 -d 2s -s "$BENCH_DIR/webhook_test.lua" "http://127.0.0.1:$PORT" >/dev/null
    queued=0
    for id in "${HOOK_IDS[@]}"; do
        n=$(api GET "/v1/webhooks/$id/deliveries?state=pending&limit=1" | jq .total)
        queued=$((queued + n))
    done
    log "  $queued queued"
done
start_ms=$(($(date +%s%N) / 1000000))
for id in "${HOOK_IDS[@]}"; do api PUT "/v1/webhooks/$id" '{"active":true}' >/dev/null; done
deadline=$((SECONDS + 300))
until (($(stat_sum ok) >= queued)); do
    ((SECONDS < deadline)) || die "only $(stat_sum ok) of $queued delivered after 300 s"
    sleep 0.2
done
sleep 0.3
last_ms=$(stat_max last_ms)
bad=$(stat_sum bad)
elapsed_ms=$((last_ms - start_ms))
((elapsed_ms > 0)) || elapsed_ms=1
rate=$(awk -v n="$queued" -v ms="$elapsed_ms" 'BEGIN {printf "%.0f", n / (ms / 1000)}')
printf 'webhook_throughput: %d signed deliveries to %d endpoints in %d ms = %s deliveries/s (bad signatures %d; target >= 2000/s)\n' \
    "$queued" "$HOOKS" "$elapsed_ms" "$rate" "$bad"

# 2. Latency while the API is loaded (the receivers' counters and delays start afresh).
for sink_port in "${SINK_PORTS[@]}"; do
    curl -sf -X POST "http://127.0.0.1:$sink_port/reset" >/dev/null || die "receiver reset"
done
sleep 0.5
before=$(stat_sum ok)
delay_ms=$(awk -v r="$RATE" 'BEGIN {printf "%d", 1000 / r}')
log "latency: API load ($CONNECTIONS connections) for ${DURATION}s with $RATE test messages/s"
DIALTONE_BENCH_TOKEN="$TOKEN" wrk -t 2 -c "$CONNECTIONS" -d "${DURATION}s" \
    -s "$BENCH_DIR/auth.lua" "http://127.0.0.1:$PORT/v1/organizations?limit=50" >"$STATE_DIR/api.out" &
api_wrk=$!
DIALTONE_BENCH_TOKEN="$TOKEN" DIALTONE_BENCH_HOOKS="$HOOK_LIST" DIALTONE_BENCH_DELAY_MS="$delay_ms" \
    wrk -t 1 -c 1 -d "${DURATION}s" -s "$BENCH_DIR/webhook_test.lua" "http://127.0.0.1:$PORT" \
    >"$STATE_DIR/tests.out"
wait "$api_wrk"
sent=$(awk '/^BENCH/ {for (i = 2; i <= NF; i++) if ($i ~ /^requests=/) {split($i, a, "="); print a[2]}}' "$STATE_DIR/tests.out")
deadline=$((SECONDS + 60))
until (($(stat_sum ok) - before >= sent)); do
    ((SECONDS < deadline)) || die "latency run: $(($(stat_sum ok) - before)) of $sent delivered"
    sleep 0.2
done
sleep 0.3
api_rps=$(awk '/^BENCH/ {for (i = 2; i <= NF; i++) if ($i ~ /^rps=/) {split($i, a, "="); print a[2]}}' "$STATE_DIR/api.out")
printf 'webhook_latency: %d deliveries while the API served %s req/s: p99 %s ms (receiver with the worst p99; p50 %s ms, max %s ms)\n' \
    "$sent" "$api_rps" "$(stat_max p99_ms)" "$(stat_max p50_ms)" "$(stat_max max_ms)"
