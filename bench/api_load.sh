#!/usr/bin/env bash
# HTTP load on the REST API with wrk: GET /v1/organizations/<id> and GET /v1/organizations?limit=50.
#
# Builds the release binary, runs `dialtone serve` from a throw-away SQLite state directory on a
# free 127.0.0.1 port, logs in, creates $BENCH_ORGS tenants, then runs wrk against both calls and
# prints one summary line per call, e.g.
#   get_organization: 6353 req/s, p99 17.68 ms (p50 4.78 ms, ...; non-2xx 0, socket errors 0)
#     CPU during the run (cores of 2): daemon 1.44, wrk 0.11, other processes 0.45 (...)
#
# Knobs (environment): BENCH_DURATION (s, default 20), BENCH_THREADS (2), BENCH_CONNECTIONS (32),
# BENCH_WARMUP (s, default 3), BENCH_ORGS (200), BENCH_SEED (api: create the organizations
# through the API, the default; sql: insert them with the sqlite3 CLI before the daemon starts,
# fast enough for BENCH_ORGS=10000), BENCH_SKIP_BUILD=1 (use the existing binary),
# BENCH_KEEP=1 (keep the state directory and wrk outputs), BENCH_QUIET_WAIT (s, default 0) to wait
# before each run until other processes leave the CPUs idle (below BENCH_QUIET_CORES, 0.25).
# Exit status: 0 on success, 3 when wrk saw non-2xx answers or socket errors (numbers still printed).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if ((SMOKE)); then
    : "${BENCH_DURATION:=2}"
    : "${BENCH_WARMUP:=0}"
    : "${BENCH_THREADS:=1}"
    : "${BENCH_CONNECTIONS:=4}"
    : "${BENCH_ORGS:=5}"
fi

DURATION="${BENCH_DURATION:-20}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
WARMUP="${BENCH_WARMUP:-3}"
ORGS="${BENCH_ORGS:-200}"
SEED="${BENCH_SEED:-api}"

need_cmd wrk
need_cmd curl
need_cmd jq
[[ "$SEED" == sql ]] && need_cmd sqlite3
build_release

STATE_DIR=$(mktemp -d -t dialtone-bench.XXXXXX)
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
BASE="http://127.0.0.1:$PORT"
log "state directory $STATE_DIR, listening on 127.0.0.1:$PORT"

bootstrap
if [[ "$SEED" == sql ]]; then
    log "inserting $ORGS tenant organizations with sqlite3"
    seed_orgs_sql "$STATE_DIR/dialtone.db" "$ORGS"
fi
start_daemon
wait_ready 60
check_loopback_only
TOKEN=$(login)

if [[ "$SEED" == sql ]]; then
    TARGET_ID=$((ORGS / 2 + 1))
else
    log "creating $ORGS tenant organizations through the API"
    ids=()
    for i in $(seq 1 "$ORGS"); do
        id=$(api POST /v1/organizations "{\"name\":\"bench-tenant-$i\",\"type\":\"tenant\"}" | jq -r '.data.id')
        ids+=("$id")
    done
    TARGET_ID="${ids[$((ORGS / 2))]}"
fi

# One checked request per call before loading it: status 200 and the expected body.
[[ $(api GET "/v1/organizations/$TARGET_ID" | jq -r '.data.id') == "$TARGET_ID" ]] ||
    die "GET /v1/organizations/$TARGET_ID did not return organization $TARGET_ID"
total=$(api GET '/v1/organizations?limit=50' | jq -r '"\(.total) \(.data | length)"')
expected="$((ORGS + 1)) $((ORGS + 1 < 50 ? ORGS + 1 : 50))"
[[ "$total" == "$expected" ]] || die "list answered total/len '$total', expected '$expected'"

export DIALTONE_BENCH_TOKEN="$TOKEN"
status=0
summaries=()

# run_wrk NAME PATH
run_wrk() {
    local name="$1" path="$2" out line
    out="$STATE_DIR/wrk-$name.txt"
    local idle_load cpu0 cpu1 busy0 busy1 t0 t1
    idle_load=$(wait_quiet)
    if ((WARMUP > 0)); then
        timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 5s \
            -s "$BENCH_DIR/auth.lua" "$BASE$path" >/dev/null
    fi
    cpu0=$(cpu_ticks "$DAEMON_PID")
    busy0=$(machine_busy_ticks)
    t0=$(date +%s%N)
    log "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency $BASE$path (machine busy before: $idle_load cores)"
    local TIMEFORMAT='%U %S'
    { time timeout $((DURATION + 60)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s --latency \
        -s "$BENCH_DIR/auth.lua" "$BASE$path" >"$out"; } 2>"$out.time"
    t1=$(date +%s%N)
    busy1=$(machine_busy_ticks)
    cpu1=$(cpu_ticks "$DAEMON_PID")
    cat "$out"
    line=$(grep '^BENCH ' "$out") || die "no BENCH line in the wrk output of $name"
    # Turn "BENCH k=v k=v" into shell variables w_k.
    local kv
    for kv in ${line#BENCH }; do
        printf -v "w_${kv%%=*}" '%s' "${kv#*=}"
    done
    local ns=$((t1 - t0)) daemon_cores wrk_cores machine_cores other_cores socket_errors
    daemon_cores=$(cores $((cpu1 - cpu0)) "$ns")
    wrk_cores=$(tail -n 1 "$out.time" | awk -v ns="$ns" '{printf "%.2f", ($1 + $2) / (ns / 1e9)}')
    machine_cores=$(cores $((busy1 - busy0)) "$ns")
    other_cores=$(awk -v m="$machine_cores" -v d="$daemon_cores" -v w="$wrk_cores" 'BEGIN {o = m - d - w; printf "%.2f", o < 0 ? 0 : o}')
    socket_errors=$((w_connect_errors + w_read_errors + w_write_errors + w_timeouts))
    local summary
    summary=$(awk -v n="$name" -v rps="$w_rps" -v p99="$w_p99_us" -v p50="$w_p50_us" -v p90="$w_p90_us" \
        -v mx="$w_max_us" -v bad="$w_non2xx3xx" -v se="$socket_errors" -v req="$w_requests" \
        'BEGIN {printf "%s: %.0f req/s, p99 %.2f ms (p50 %.2f ms, p90 %.2f ms, max %.2f ms; %d requests, non-2xx %d, socket errors %d)",
                n, rps, p99 / 1000, p50 / 1000, p90 / 1000, mx / 1000, req, bad, se}')
    summary+=$'\n'"  CPU during the run (cores of $(nproc)): daemon $daemon_cores, wrk $wrk_cores, other processes $other_cores (machine busy before the run and its warm-up: $idle_load)"
    summaries+=("$summary")
    if ((w_non2xx3xx > 0 || socket_errors > 0)); then
        status=3
    fi
}

run_wrk get_organization "/v1/organizations/$TARGET_ID"
run_wrk list_organizations "/v1/organizations?limit=50"

# What the daemon itself counted (route, status) and whether the rate limiter refused anything.
metrics=$(curl -sf --max-time 10 "$BASE/metrics" || true)
rate_limited=$(awk '/^http_rate_limited_total/ {print $2}' <<<"$metrics")
log "daemon counters of /v1/organizations routes (method, route, status):"
grep '^http_requests_total{' <<<"$metrics" | grep 'organizations' >&2 || true
rss=$(rss_kib "$DAEMON_PID")
hwm=$(hwm_kib "$DAEMON_PID")
if grep -qiE 'error|panic' "$STATE_DIR/daemon.log"; then
    log "daemon log has errors:"
    grep -iE 'error|panic' "$STATE_DIR/daemon.log" | tail -n 20 >&2
    status=3
fi

echo
echo "== dialtone API load: $(nproc) CPUs, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s (after ${WARMUP}s warm-up), SQLite, $((ORGS + 1)) organizations (seeded via $SEED)"
for s in "${summaries[@]}"; do
    echo "$s"
done
echo "daemon RSS after load: $(kib_to_mib "$rss") MiB (peak $(kib_to_mib "$hwm") MiB); rate-limited answers: ${rate_limited:-0}"
if ((status != 0)); then
    echo "WARNING: non-2xx answers, socket errors or daemon errors above; see the wrk output and the daemon log"
fi
exit "$status"
