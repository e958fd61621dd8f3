#!/usr/bin/env bash
# The SIP redirect listener under load: sipp as a UAC sends INVITEs (UDP) to `dialtone serve`
# (release) at increasing call rates, each for BENCH_DURATION seconds; every call is INVITE →
# 302 → ACK. Prints, per rate, the calls attempted / successful / failed and dialtone's CPU time
# (utime+stime from /proc/<pid>/stat), then the highest rate with < 0.1 % failed calls and the
# CPU seconds per 1,000 redirects at that rate.
#
# Set-up: a fresh state directory; the platform organization (id 1) gets org IP 127.0.0.1 (so
# sipp's source identifies it), one trunk whose gateway is sip:127.0.0.1:5999 (the pinger is off
# via a config file, so nothing is ever sent there), and a generated policy of BENCH_RULES
# prefix rules (+44000 … routed to the trunk, +1900 denied) in one group. sipp dials numbers
# from an injection file spread over those prefixes. Everything stays on 127.0.0.1.
#
# Knobs: BENCH_RATES ("500 1000 2000 4000 8000"), BENCH_DURATION (10 s per rate), BENCH_RULES
# (200), BENCH_SKIP_BUILD=1 / BENCH_BIN=path (see common.sh), BENCH_QUIET_WAIT (seconds to wait
# for an idle machine before measuring). sipp and dialtone share this machine's 2 cores, so the
# figures include sipp's own CPU contention; the script prints the background load it saw.
set -euo pipefail
source "$(dirname "$0")/common.sh"
if ((SMOKE)); then
    : "${BENCH_RATES:=100}"
    : "${BENCH_DURATION:=2}"
    : "${BENCH_RULES:=10}"
fi

RATES="${BENCH_RATES:-500 1000 2000 4000 8000}"
DURATION="${BENCH_DURATION:-10}"
RULES="${BENCH_RULES:-200}"

need_cmd sipp sip-tester
need_cmd curl
need_cmd jq
build_release

STATE_DIR=$(mktemp -d)
PORT=$(free_port)
REDIRECT_PORT=$(free_port)
export DIALTONE_REDIRECT_LISTEN="127.0.0.1:$REDIRECT_PORT"
cleanup() {
    stop_daemon
    [[ "${BENCH_KEEP:-0}" == 1 ]] && log "kept $STATE_DIR" || rm -rf "$STATE_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CONFIG="$STATE_DIR/bench.toml"
printf '[pinger]\nenabled = false\n\n[log]\nfilter = "warn"\n' >"$CONFIG"

bootstrap
log "starting dialtone (API 127.0.0.1:$PORT, redirect 127.0.0.1:$REDIRECT_PORT)"
dialtone_vars
env "${DIALTONE_VARS[@]}" "$BIN" serve --config "$CONFIG" >>"$STATE_DIR/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_ready 60
check_loopback_only
TOKEN=$(login)

log "creating the trunk, org IP and a policy of $RULES rules"
trunk=$(api POST /v1/siptrunks '{"organization_id": 1, "name": "bench carrier", "direction": "outbound",
    "max_channels": 100000, "gateways": [{"uri": "sip:127.0.0.1:5999;transport=udp"},
    {"uri": "sip:127.0.0.1:5998;transport=tcp"}]}' | jq -r .data.id)
api POST /v1/orgips '{"organization_id": 1, "cidr": "127.0.0.1", "description": "sipp"}' >/dev/null
rules=$(jq -n --argjson n "$RULES" --argjson trunk "$trunk" '
    [{"name": "premium", "match": {"prefixes": ["+1900"]},
      "action": {"type": "deny", "sip_code": 403, "reason": "Premium numbers blocked"}}] +
    [range(0; $n) | {"name": "p\(.)", "match": {"prefixes": ["+44" + ("000" + (. | tostring))[-3:]]},
      "action": {"type": "route", "routes": [{"trunk_id": $trunk}]}}]')
policy=$(api POST /v1/dialplans "$(jq -n --argjson rules "$rules" \
    '{"organization_id": 1, "name": "bench", "rules": $rules}')" | jq -r .data.id)
api POST /v1/dialplans/groups "{\"organization_id\": 1, \"name\": \"bench\", \"enforced\": false,
    \"policy_ids\": [$policy]}" >/dev/null
# The listener reloads its source table every redirect.refresh_s (5 s).
sleep 6

NUMBERS="$STATE_DIR/numbers.csv"
{
    echo "SEQUENTIAL"
    for i in $(seq 0 $((RULES - 1))); do printf '+44%03d%07d\n' "$i" "$((i * 7919 % 10000000))"; done
} >"$NUMBERS"

SCENARIO="$STATE_DIR/redirect_bench.xml"
cat >"$SCENARIO" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="Redirect bench UAC">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[field0]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:[field0]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="302" timeout="4000" />
  <send>
    <![CDATA[

      ACK sip:[field0]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-2]
      From: <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
</scenario>
XML

# A quick check that the set-up answers 302 before measuring.
sipp 127.0.0.1:"$REDIRECT_PORT" -sf "$SCENARIO" -inf "$NUMBERS" -i 127.0.0.1 -p "$(free_port)" \
    -m 5 -r 5 -nostdin -timeout 15s -timeout_error >"$STATE_DIR/check.log" 2>&1 ||
    { tail -n 40 "$STATE_DIR/check.log" >&2; die "sipp's 302 check failed"; }

background=$(wait_quiet)
log "background load before measuring: $background cores busy"
hz=$(getconf CLK_TCK)
best_rate=0
best_cpu_per_k=""
printf '\n%8s %9s %11s %8s %9s %12s %14s\n' rate attempted successful failed failed_% dialtone_cpu_s cpu_s_per_1000
for rate in $RATES; do
    calls=$((rate * DURATION))
    out="$STATE_DIR/sipp-$rate.log"
    t0=$(cpu_ticks "$DAEMON_PID")
    # -rp 1000: rate per second; the limit of calls in flight is generous so sipp's own
    # scheduling, not a cap, decides; -timeout bounds the whole run.
    sipp 127.0.0.1:"$REDIRECT_PORT" -sf "$SCENARIO" -inf "$NUMBERS" -i 127.0.0.1 \
        -p "$(free_port)" -r "$rate" -rp 1000 -m "$calls" -l $((rate * 5)) -nostdin \
        -timeout $((DURATION * 3 + 20))s >"$out" 2>&1 || true
    t1=$(cpu_ticks "$DAEMON_PID")
    ok=$(awk -F'|' '/Successful call/ {gsub(/ /, "", $3); v = $3} END {print v + 0}' "$out")
    failed=$(awk -F'|' '/Failed call/ {gsub(/ /, "", $3); v = $3} END {print v + 0}' "$out")
    attempted=$calls
    lost=$((attempted - ok))
    cpu_s=$(awk -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN {printf "%.2f", t / hz}')
    per_k=$(awk -v c="$cpu_s" -v n="$ok" 'BEGIN {if (n > 0) printf "%.4f", c / (n / 1000); else print "n/a"}')
    failed_pct=$(awk -v l="$lost" -v a="$attempted" 'BEGIN {printf "%.3f", 100 * l / a}')
    printf '%8s %9s %11s %8s %9s %12s %14s\n' "$rate" "$attempted" "$ok" "$lost" "$failed_pct" "$cpu_s" "$per_k"
    ((failed > lost)) && log "sipp counted $failed failed calls at $rate cps"
    if awk -v p="$failed_pct" 'BEGIN {exit !(p < 0.1)}'; then
        best_rate=$rate
        best_cpu_per_k=$per_k
    else
        log "rate $rate cps: $failed_pct % of calls failed or were not completed; stopping"
        break
    fi
done

echo
echo "highest rate with < 0.1% failed calls: $best_rate calls/s (INVITE → 302 → ACK, UDP)"
echo "dialtone CPU per 1,000 redirects at that rate: ${best_cpu_per_k:-n/a} s"
echo "background load before measuring: $background cores busy (2-core machine shared with sipp)"
