# Shared helpers of the bench/ scripts. Sourced, not run: expects `set -euo pipefail` in the caller.
#
# Everything stays on 127.0.0.1; the daemon runs from a throw-away state directory.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
# BENCH_BIN: run another dialtone binary (e.g. a saved copy) instead of target/release/dialtone.
BIN="${BENCH_BIN:-$REPO_DIR/target/release/dialtone}"
# BENCH_EXAMPLES_DIR: where the loopback peers (examples/notify_phones.rs, udp_responders.rs) are.
EXAMPLES_DIR="${BENCH_EXAMPLES_DIR:-$REPO_DIR/target/release/examples}"
# --smoke (what bench/smoke.sh passes): each script's tiny sizes, a few seconds, the whole path
# still walked and checked, so a refactor cannot silently break a script. The caller's arguments
# are ours: `source` without arguments keeps them.
SMOKE=0
for arg in "$@"; do
    case "$arg" in
        --smoke) SMOKE=1 ;;
        *) printf 'usage: %s [--smoke]\n' "$0" >&2; exit 2 ;;
    esac
done
BENCH_USER="bench"
BENCH_PASSWORD="bench-password-1"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Installs a Debian package when its command is missing (needs root or sudo).
need_cmd() {
    local cmd="$1" pkg="${2:-$1}"
    command -v "$cmd" >/dev/null 2>&1 && return 0
    log "$cmd not found; installing package $pkg"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get install -y "$pkg" >/dev/null || {
        $sudo apt-get update >/dev/null && $sudo apt-get install -y "$pkg" >/dev/null
    } || die "cannot install $pkg"
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after installing $pkg"
}

build_release() {
    if [[ "${BENCH_SKIP_BUILD:-0}" == 1 || -n "${BENCH_BIN:-}" ]]; then
        [[ -x "$BIN" ]] || die "$BIN does not exist"
        log "skipping build (BENCH_SKIP_BUILD=1 or BENCH_BIN set), using $BIN"
        return
    fi
    log "cargo build --release (the first build takes several minutes)"
    (cd "$REPO_DIR" && cargo build --release --quiet) || die "release build failed"
}

# A TCP port on 127.0.0.1 nothing listens on right now.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    die "no free port found"
}

# Environment of every dialtone invocation (the caller sets STATE_DIR and PORT). The default rate
# limit (1200 requests per 60 s per token) would turn most of a load run into 429s. Variables an
# older binary does not know are ignored by it.
dialtone_vars() {
    DIALTONE_VARS=(
        DIALTONE_STATE_DIRECTORY="$STATE_DIR"
        DIALTONE_HTTP_LISTEN="127.0.0.1:$PORT"
        # serve also runs a SIP endpoint, by default on 0.0.0.0:5060 (UDP and TCP): keep it on
        # loopback, on a free port (port 0), so runs never collide or listen beyond this machine.
        DIALTONE_SIP_LISTEN=127.0.0.1:0
        # Likewise the SIP redirect listener (default 0.0.0.0:5070).
        DIALTONE_REDIRECT_LISTEN="${DIALTONE_REDIRECT_LISTEN:-127.0.0.1:0}"
        # And the provisioning listener (default 0.0.0.0:8081).
        DIALTONE_PROVISIONING_LISTEN="${DIALTONE_PROVISIONING_LISTEN:-127.0.0.1:0}"
        DIALTONE_RATE_LIMIT_REQUESTS=100000000
        DIALTONE_LOG_FILTER=warn
    )
}
dialtone_env() {
    dialtone_vars
    env "${DIALTONE_VARS[@]}" "$@"
}

bootstrap() {
    printf '%s\n' "$BENCH_PASSWORD" |
        dialtone_env "$BIN" bootstrap --username "$BENCH_USER" --password-stdin >/dev/null ||
        die "bootstrap failed"
}

# Starts `dialtone serve` in the background; sets DAEMON_PID and SPAWN_NS (spawn time, ns).
start_daemon() {
    dialtone_vars
    # Wall clock in ns (µs resolution) from bash's $EPOCHREALTIME: no fork on the timed path.
    SPAWN_NS="${EPOCHREALTIME/[.,]/}000"
    # A simple command (not a function) in the background: env execs dialtone, so $! is the
    # daemon's own pid (for /proc readings and for the SIGTERM).
    env "${DIALTONE_VARS[@]}" "$BIN" serve >>"$STATE_DIR/daemon.log" 2>&1 &
    DAEMON_PID=$!
}

# Asks GET /readyz once over bash's /dev/tcp (no fork, so it can poll every millisecond);
# succeeds on a 200 status line.
readyz_once() {
    local line=""
    { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null || return 1
    printf 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
    read -r -t 5 line <&3 || true
    exec 3<&- 3>&-
    [[ "$line" == "HTTP/1."?" 200"* ]]
}

# Polls /readyz about every millisecond until it answers 200; sets READY_NS. Gives up after $1 s.
wait_ready() {
    local limit_s="${1:-60}" started=$SECONDS
    # A FIFO nobody writes to: `read -t 0.001` on it is a 1 ms sleep without forking.
    [[ -p "$STATE_DIR/.tick" ]] || mkfifo "$STATE_DIR/.tick"
    exec 9<>"$STATE_DIR/.tick"
    until readyz_once; do
        if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            tail -n 20 "$STATE_DIR/daemon.log" >&2 || true
            die "daemon exited before it was ready"
        fi
        ((SECONDS - started < limit_s)) || die "daemon not ready after ${limit_s}s"
        read -r -t 0.001 -u 9 _ || true
    done
    READY_NS="${EPOCHREALTIME/[.,]/}000"
    exec 9<&-
    [[ $(readlink "/proc/$DAEMON_PID/exe") == "$BIN"* ]] || die "pid $DAEMON_PID is not $BIN"
}

# Dies if the daemon listens anywhere but on loopback (HTTP and SIP, TCP and UDP).
check_loopback_only() {
    command -v ss >/dev/null 2>&1 || return 0
    local sockets
    sockets=$(ss -H -lntup 2>/dev/null | grep "pid=$DAEMON_PID," | awk '{print $1, $5}') || true
    [[ -n "$sockets" ]] || { log "cannot see the daemon's sockets with ss; not checked"; return 0; }
    log "daemon sockets: $(tr '\n' ' ' <<<"$sockets")"
    if grep -vqE ' (127\.[0-9.]+|\[::1\]):[0-9]+$' <<<"$sockets"; then
        die "daemon listens beyond loopback: $sockets"
    fi
}

# SIGTERM, then SIGKILL after 15 s; only ever the pid this script started.
stop_daemon() {
    [[ -n "${DAEMON_PID:-}" ]] || return 0
    if kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        for _ in $(seq 1 150); do
            kill -0 "$DAEMON_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$DAEMON_PID" 2>/dev/null && kill -KILL "$DAEMON_PID" 2>/dev/null || true
    fi
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=""
}

# Prints an access token for the bench user.
login() {
    local body token
    body=$(curl -sf --max-time 10 -H 'Content-Type: application/json' \
        -d "{\"username\":\"$BENCH_USER\",\"password\":\"$BENCH_PASSWORD\"}" \
        "http://127.0.0.1:$PORT/v1/auth/user") || die "login failed"
    token=$(jq -r '.data.token // empty' <<<"$body")
    [[ -n "$token" ]] || die "login answered without data.token: $body"
    printf '%s' "$token"
}

# api METHOD PATH [JSON]: prints the body; fails on a non-2xx answer.
api() {
    local method="$1" path="$2" data="${3:-}"
    local args=(-sS --max-time 30 -X "$method" -H "Authorization: Bearer $TOKEN" -H 'Accept: application/json'
        -w '\n%{http_code}')
    [[ -n "$data" ]] && args+=(-H 'Content-Type: application/json' -d "$data")
    local out code
    out=$(curl "${args[@]}" "http://127.0.0.1:$PORT$path") || die "$method $path: curl failed"
    code="${out##*$'\n'}"
    out="${out%$'\n'*}"
    [[ "$code" == 2* ]] || die "$method $path answered $code: $out"
    printf '%s' "$out"
}

# VmRSS / VmHWM of a pid, in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# user+system CPU time of a pid, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
kib_to_mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
# Busy (non-idle, non-iowait) CPU ticks of the whole machine, from /proc/stat.
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
# cores TICKS NANOSECONDS: average number of cores those ticks kept busy.
cores() { awk -v c="$1" -v hz="$(getconf CLK_TCK)" -v ns="$2" 'BEGIN {printf "%.2f", c / hz / (ns / 1e9)}'; }
# Cores busy machine-wide over $1 seconds (other people's builds and tests share this machine).
background_cores() {
    local b0 b1 t0 t1
    b0=$(machine_busy_ticks); t0=$(date +%s%N)
    sleep "${1:-2}"
    b1=$(machine_busy_ticks); t1=$(date +%s%N)
    cores $((b1 - b0)) $((t1 - t0))
}
# Waits up to $BENCH_QUIET_WAIT seconds (default 0: no wait) until the machine, daemon idle, is
# below $BENCH_QUIET_CORES busy cores (default 0.25) over a 3 s sample; prints the last sample.
wait_quiet() {
    local limit="${BENCH_QUIET_WAIT:-0}" threshold="${BENCH_QUIET_CORES:-0.25}" started=$SECONDS busy
    while :; do
        busy=$(background_cores $((SMOKE ? 1 : 3)))
        if awk -v b="$busy" -v t="$threshold" 'BEGIN {exit !(b < t)}'; then break; fi
        if ((SECONDS - started >= limit)); then
            ((limit == 0)) || log "machine still busy ($busy cores) after ${limit}s; measuring anyway"
            break
        fi
        log "machine busy ($busy cores busy, other processes); waiting for < $threshold"
        sleep 10
    done
    printf '%s' "$busy"
}

# seed_orgs_sql DB COUNT: inserts COUNT active tenants named bench-tenant-NNNNN under the platform
# organization (id 1) in one transaction with the sqlite3 CLI (daemon stopped or not yet started).
# path is '<parent path><id>/' as the daemon writes it; timestamps are ISO-8601 UTC text.
seed_orgs_sql() {
    local db="$1" count="$2"
    sqlite3 "$db" <<SQL || die "sqlite3 insert failed"
.bail on
PRAGMA foreign_keys = ON;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $count)
INSERT INTO organizations (parent_id, path, type, name, status, timezone, created_at, updated_at)
SELECT p.id, '', 'tenant', printf('bench-tenant-%05d', n.i), 'active', p.timezone,
       strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
FROM n, organizations AS p WHERE p.id = 1;
UPDATE organizations SET path = (SELECT path FROM organizations WHERE id = 1) || id || '/'
WHERE path = '';
COMMIT;
SQL
}

# serve_with_config WORK HTTP_PORT: bootstraps and serves `dialtone` with $WORK/dialtone.toml
# (log in $WORK/dialtone.log) as the bench user, waits for /readyz and logs in. Sets
# DT_PID, api (the base URL) and token. For the scripts that write a whole config file.
serve_with_config() {
    local work="$1" http_port="$2"
    printf '%s\n' "$BENCH_PASSWORD" |
        "$BIN" bootstrap --config "$work/dialtone.toml" --username "$BENCH_USER" --password-stdin \
            >>"$work/dialtone.log" 2>&1 || {
        tail -n 20 "$work/dialtone.log" >&2
        die "bootstrap failed"
    }
    # The provisioning (0.0.0.0:8081) and redirect (0.0.0.0:5070) listeners stay on loopback too.
    env DIALTONE_PROVISIONING_LISTEN=127.0.0.1:0 DIALTONE_REDIRECT_LISTEN=127.0.0.1:0 \
        "$BIN" serve --config "$work/dialtone.toml" >>"$work/dialtone.log" 2>&1 &
    DT_PID=$!
    api="http://127.0.0.1:$http_port"
    for _ in $(seq 1 300); do
        curl -sf --max-time 2 "$api/readyz" >/dev/null 2>&1 && break
        kill -0 "$DT_PID" 2>/dev/null || {
            tail -n 20 "$work/dialtone.log" >&2
            die "dialtone exited"
        }
        sleep 0.1
    done
    curl -sf --max-time 2 "$api/readyz" >/dev/null || die "dialtone not ready after 30 s"
    token=$(curl -sf --max-time 10 -H 'Content-Type: application/json' \
        -d "{\"username\":\"$BENCH_USER\",\"password\":\"$BENCH_PASSWORD\"}" "$api/v1/auth/user" |
        jq -r '.data.token // empty')
    [[ -n "$token" ]] || die "login failed"
}

# SIGTERM to one pid this script started, SIGKILL after $2 s.
stop_pid() {
    local pid="$1" grace="${2:-10}"
    [[ -n "$pid" ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 $((grace * 10))); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# start_peers WHAT BIN COUNT LOG: starts an example binary that plays COUNT loopback peers
# (phones, gateways) on 127.0.0.1:$BASE_PORT.. writing counters to $STATS, and waits until the
# stats file appears. Sets PEERS_PID.
start_peers() {
    local what="$1" bin="$2" count="$3" peers_log="$4"
    log "starting $count $what on 127.0.0.1:$BASE_PORT-$((BASE_PORT + count - 1))"
    "$bin" --bind 127.0.0.1 --base "$BASE_PORT" --count "$count" --stats "$STATS" >"$peers_log" 2>&1 &
    PEERS_PID=$!
    for _ in $(seq 1 100); do
        [[ -s "$STATS" ]] && break
        kill -0 "$PEERS_PID" 2>/dev/null || { cat "$peers_log" >&2; die "$what exited"; }
        sleep 0.1
    done
    [[ -s "$STATS" ]] || die "$what wrote no stats"
}
