#!/usr/bin/env bash
# Start-up time and idle memory of `dialtone serve` with 10,000 organizations in SQLite.
#
# Builds the release binary, creates a fresh state directory, runs `dialtone migrate` and
# `dialtone bootstrap`, inserts $BENCH_ORG_COUNT tenants under the platform organization (id 1)
# directly with the sqlite3 CLI (BENCH_SEED=api creates them through the REST API instead), then:
#   * start-up: time from spawning `dialtone serve` until GET /readyz answers 200, $BENCH_STARTS
#     times (after one unmeasured first start), median reported;
#   * memory: VmRSS from /proc/<pid>/status after 5 s idle, after one list call
#     (GET /v1/organizations?limit=1, which also checks total = count + 1), after a full page
#     (GET /v1/organizations?limit=1000), and after a login (argon2 hashing, for comparison).
# The list calls use a token obtained during the unmeasured first start, so no login (and no
# password hashing) happens in the measured process before the idle and list readings.
#
# Knobs: BENCH_ORG_COUNT (10000), BENCH_STARTS (5), BENCH_IDLE (s, 5), BENCH_SEED (sql|api),
# BENCH_SKIP_BUILD=1, BENCH_KEEP=1 (keep the state directory), BENCH_QUIET_WAIT (s, default 0) to
# wait until other processes leave the CPUs idle (below BENCH_QUIET_CORES, 0.25) before measuring.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if ((SMOKE)); then
    : "${BENCH_ORG_COUNT:=50}"
    : "${BENCH_STARTS:=1}"
    : "${BENCH_IDLE:=1}"
fi

COUNT="${BENCH_ORG_COUNT:-10000}"
STARTS="${BENCH_STARTS:-5}"
IDLE="${BENCH_IDLE:-5}"
SEED="${BENCH_SEED:-sql}"

need_cmd curl
need_cmd jq
[[ "$SEED" == sql ]] && need_cmd sqlite3
build_release

STATE_DIR=$(mktemp -d -t dialtone-startup.XXXXXX)
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
DB="$STATE_DIR/dialtone.db"
log "state directory $STATE_DIR, listening on 127.0.0.1:$PORT"

dialtone_env "$BIN" migrate >/dev/null || die "migrate failed"
bootstrap

ms_since() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b - a) / 1e6}'; }

seed_start=$(date +%s%N)
if [[ "$SEED" == sql ]]; then
    log "inserting $COUNT organizations with sqlite3"
    seed_orgs_sql "$DB" "$COUNT"
    seed_ms=$(ms_since "$seed_start" "$(date +%s%N)")
    start_daemon
    wait_ready 60
    first_start_ms=$(ms_since "$SPAWN_NS" "$READY_NS")
    check_loopback_only
    TOKEN=$(login)
else
    start_daemon
    wait_ready 60
    first_start_ms=$(ms_since "$SPAWN_NS" "$READY_NS")
    check_loopback_only
    TOKEN=$(login)
    log "creating $COUNT organizations through the API (curl --parallel)"
    cfg="$STATE_DIR/seed.curl"
    for i in $(seq 1 "$COUNT"); do
        ((i == 1)) || echo next
        printf 'silent\nshow-error\nurl = "%s/v1/organizations"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata = "{\\"name\\":\\"bench-tenant-%05d\\",\\"type\\":\\"tenant\\"}"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
            "$BASE" "$TOKEN" "$i"
    done >"$cfg"
    codes=$(curl -sS --parallel --parallel-max 4 -K "$cfg" | sort | uniq -c)
    [[ $(awk '$2 != 201 {bad += $1} END {print bad + 0}' <<<"$codes") == 0 ]] ||
        die "some creations did not answer 201: $codes"
    seed_ms=$(ms_since "$seed_start" "$(date +%s%N)")
fi

total=$(api GET '/v1/organizations?limit=1' | jq -r '.total')
[[ "$total" == "$((COUNT + 1))" ]] || die "GET /v1/organizations?limit=1: total $total, expected $((COUNT + 1))"
log "first start: ${first_start_ms} ms; API total = $total"
stop_daemon

# Start-up time: spawn -> /readyz 200, then SIGTERM and wait for the exit.
busy_before=$(wait_quiet)
log "machine busy before the start-up runs: $busy_before cores"
starts=()
for run in $(seq 1 "$STARTS"); do
    start_daemon
    wait_ready 60
    ms=$(ms_since "$SPAWN_NS" "$READY_NS")
    starts+=("$ms")
    log "start $run: $ms ms"
    stop_daemon
done
median_ms=$(printf '%s\n' "${starts[@]}" | sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2}')

# Memory: idle, after one list call, after a full page, after a login.
start_daemon
wait_ready 60
log "idle ${IDLE}s"
sleep "$IDLE"
rss_idle=$(rss_kib "$DAEMON_PID")
list_total=$(api GET '/v1/organizations?limit=1' | jq -r '.total')
[[ "$list_total" == "$((COUNT + 1))" ]] || die "list total $list_total, expected $((COUNT + 1))"
sleep 1
rss_list=$(rss_kib "$DAEMON_PID")
page_len=$(api GET '/v1/organizations?limit=1000' | jq -r '.data | length')
[[ "$page_len" == $((COUNT + 1 < 1000 ? COUNT + 1 : 1000)) ]] || die "limit=1000 page has $page_len items"
sleep 1
rss_page=$(rss_kib "$DAEMON_PID")
login >/dev/null
sleep 1
rss_login=$(rss_kib "$DAEMON_PID")
hwm=$(hwm_kib "$DAEMON_PID")
stop_daemon
db_kib=$(du -k "$DB" | awk '{print $1}')

echo
echo "== dialtone start-up with $((COUNT + 1)) organizations (SQLite, seeded via $SEED in $(awk -v m="$seed_ms" 'BEGIN {printf "%.1f", m / 1000}') s; $(nproc) CPUs; database file $(kib_to_mib "$db_kib") MiB)"
echo "verify: GET /v1/organizations?limit=1 -> total $list_total"
echo "machine busy before the start-up runs (other processes): $busy_before cores"
echo "startup: median $median_ms ms over $STARTS starts (spawn -> /readyz 200): ${starts[*]} ms; first start (not in the median) $first_start_ms ms"
echo "rss: idle ${IDLE}s $(kib_to_mib "$rss_idle") MiB; after one list call (limit=1) $(kib_to_mib "$rss_list") MiB; after limit=1000 page $(kib_to_mib "$rss_page") MiB; after a login $(kib_to_mib "$rss_login") MiB (peak $(kib_to_mib "$hwm") MiB)"
