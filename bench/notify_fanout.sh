#!/usr/bin/env bash
# NOTIFY fan-out: one bulk resync job (spread 0) to 5,000 phones on 127.0.0.1, timed from the
# POST /v1/devices/notify to the job reading `done`.
#
#   bench/notify_fanout.sh
#
# Environment (all optional): PHONES (5000), BASE_PORT (30000: phones on BASE_PORT ..
# BASE_PORT+PHONES-1, answered by examples/notify_phones.rs), CONCURRENCY (50, the default of
# notify.concurrency), DATABASE_URL (empty: SQLite in the temp dir; postgres://… to measure on
# PostgreSQL, the database must be empty), BENCH_SKIP_BUILD=1 (use the existing release
# binaries), BENCH_BIN / PHONES_BIN (run other binaries, e.g. saved copies; implies no build),
# KEEP_WORK=1 (keep the temp dir with logs and configs).
#
# It prints the wall time from the POST to `done` (client side, polled every 20 ms), the job's
# own created_at → finished_at (server side), NOTIFYs per second, what the phones counted
# (NOTIFYs, retransmissions, phones reached, phones reached twice, Event values) and the job's
# counters. Devices are created first through POST /v1/devices/bulk (not timed).
#
# All traffic is on 127.0.0.1. Every wait is bounded; everything started here is stopped on exit.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if ((SMOKE)); then
    : "${PHONES:=20}"
fi
PHONES="${PHONES:-5000}"
BASE_PORT="${BASE_PORT:-30000}"
CONCURRENCY="${CONCURRENCY:-50}"
DATABASE_URL="${DATABASE_URL:-}"

CUSTOM_BINS=0
[[ -n "${BENCH_BIN:-}${PHONES_BIN:-}" ]] && CUSTOM_BINS=1
PHONES_BIN="${PHONES_BIN:-$EXAMPLES_DIR/notify_phones}"
WORK="$(mktemp -d /tmp/notify_fanout.XXXXXX)"
STATS="$WORK/phones.stats"
PHONES_PID=""
DT_PID=""


cleanup() {
    stop_pid "$DT_PID" 20
    stop_pid "$PHONES_PID" 5
    if [[ "${KEEP_WORK:-0}" == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

free_port() { # $1: tcp or udp
    python3 - "$1" <<'EOF'
import socket, sys
kind = socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

now_ns() { echo "${EPOCHREALTIME/[.,]/}000"; }

for cmd in curl jq python3; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd is needed"
done
((PHONES + BASE_PORT <= 65536)) || die "phones run past port 65535"

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 && "$CUSTOM_BINS" == 0 ]]; then
    log "cargo build --release --bin dialtone --example notify_phones"
    (cd "$REPO_DIR" && cargo build --release --quiet --bin dialtone --example notify_phones) ||
        die "release build failed"
fi
[[ -x "$BIN" && -x "$PHONES_BIN" ]] || die "missing $BIN or $PHONES_BIN"

start_peers phones "$PHONES_BIN" "$PHONES" "$WORK/phones.log"
PHONES_PID=$PEERS_PID

http_port=$(free_port tcp)
sip_port=$(free_port udp)
mkdir -p "$WORK/dialtone"
cat >"$WORK/dialtone.toml" <<EOF
state_directory = "$WORK/dialtone"
[database]
url = "$DATABASE_URL"
[http]
listen = "127.0.0.1:$http_port"
[rate_limit]
requests = 1000000
[sip]
listen = ["127.0.0.1:$sip_port"]
[pinger]
enabled = false
[notify]
max_concurrency = 5000
max_job_devices = $((PHONES > 50000 ? PHONES : 50000))
timeout_ms = 5000
[log]
filter = "warn"
EOF
log "dialtone: bootstrap, then serve (HTTP 127.0.0.1:$http_port, SIP 127.0.0.1:$sip_port)"
serve_with_config "$WORK" "$http_port"

log "creating $PHONES devices (POST /v1/devices/bulk, 1000 at a time; not timed)"
for ((first = 0; first < PHONES; first += 1000)); do
    last=$((first + 1000 < PHONES ? first + 1000 : PHONES))
    jq -cn --argjson a "$first" --argjson b "$last" --argjson base "$BASE_PORT" '{devices: [
        range($a; $b) | {
            mac: ("0015" + ("00000000" + (. | tostring)) [-8:]),
            vendor: "yealink", model: "T54W",
            contact: "sip:p\(.)@127.0.0.1:\($base + .)",
            lines: [{username: "p\(.)", registrar: "pbx.example.com"}]}]}' >"$WORK/bulk.json"
    code=$(curl -s -o "$WORK/bulk.out" -w '%{http_code}' --max-time 120 -X POST \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        --data-binary "@$WORK/bulk.json" "$api/v1/devices/bulk")
    [[ "$code" == 201 ]] || die "POST /v1/devices/bulk answered $code: $(head -c 500 "$WORK/bulk.out")"
done

log "bulk resync job: spread_s 0, concurrency $CONCURRENCY"
started_ns=$(now_ns)
job=$(curl -sf --max-time 60 -X POST -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' \
    -d "{\"spread_s\": 0, \"concurrency\": $CONCURRENCY, \"action\": \"resync\"}" \
    "$api/v1/devices/notify") || die "POST /v1/devices/notify failed"
job_id=$(jq -r '.data.id' <<<"$job")
[[ "$(jq -r '.data.total' <<<"$job")" == "$PHONES" ]] || die "job covers $(jq -r '.data.total' <<<"$job") devices"
deadline=$((SECONDS + 600))
while :; do
    progress=$(curl -sf --max-time 10 -H "Authorization: Bearer $token" "$api/v1/devices/notify/$job_id") ||
        die "GET /v1/devices/notify/$job_id failed"
    [[ "$(jq -r '.data.state' <<<"$progress")" != running ]] && break
    ((SECONDS < deadline)) || die "job still running after 600 s: $progress"
    sleep 0.02
done
done_ns=$(now_ns)
sleep 1.2 # the phones write their counters every second
read -r server_s < <(jq -r '.data | "\(.created_at) \(.finished_at)"' <<<"$progress" | python3 -c '
import sys, datetime
a, b = sys.stdin.read().split()
p = lambda t: datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
print("%.3f" % (p(b) - p(a)).total_seconds())')
wall_s=$(awk -v a="$started_ns" -v b="$done_ns" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
rate=$(awk -v n="$PHONES" -v s="$server_s" 'BEGIN {if (s > 0) printf "%.0f", n / s; else print "n/a"}')
backend=sqlite
[[ -n "$DATABASE_URL" ]] && backend=postgres
warn=$(grep -c -E ' (WARN|ERROR) ' "$WORK/dialtone.log" || true)

echo
echo "notify fan-out to $PHONES phones on loopback ($backend, spread 0, concurrency $CONCURRENCY):" \
    "${wall_s} s from POST to done (client), ${server_s} s created_at → finished_at (server)," \
    "$rate NOTIFYs/s"
echo "  job: $(jq -c '.data | {state, total, sent, ok, failed, pending, rejected, timed_out, unreachable}' <<<"$progress")"
echo "  phones: $(tr '\n' ' ' <"$STATS")"
echo "  dialtone log: $warn WARN/ERROR lines; machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
