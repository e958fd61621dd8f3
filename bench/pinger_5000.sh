#!/usr/bin/env bash
# Gateway pinger at scale: 5,000 gateways pinged with OPTIONS every 5 s, dialtone against Kamailio's
# dispatcher, one after the other against the same 5,000 UDP responders on 127.0.0.1.
#
#   bench/pinger_5000.sh
#
# Environment (all optional): GATEWAYS (5000), BASE_PORT (20000: responders on BASE_PORT ..
# BASE_PORT+GATEWAYS-1), MEASURE_S (60), SETTLE_S (10: wait after all are up, before measuring),
# UP_TIMEOUT_S (120), BENCH_SKIP_BUILD=1 (use the existing release binaries), SKIP_DIALTONE=1,
# SKIP_KAMAILIO=1, KAMAILIO_MAXBUFFER (4194304: the UDP receive buffer Kamailio may grow its
# socket to; Kamailio's own default, 262144, drops about a third of the 5,000 replies that come
# back in one burst, which tm then retransmits for), KAMAILIO_SHM_MB (256: with 64, the default,
# tm runs out of shared memory when replies come late and pings fail), KAMAILIO_PKG_MB (8),
# KEEP_WORK=1 (keep the temp dir with logs and configs). dialtone inherits the environment, so
# TOKIO_WORKER_THREADS=1 runs it on one runtime worker thread (the default is one per core).
#
# Per contender it prints pings sent in the window (counted by the responders: OPTIONS requests,
# i.e. datagrams less UDP retransmissions, which are shown apart), CPU seconds of the contender's
# processes (utime+stime from /proc/PID/stat, all threads; for Kamailio summed over the main
# process and its children), CPU seconds per 1000 pings, and memory (dialtone: VmRSS; Kamailio: VmRSS summed over processes,
# which counts shared memory once per process, and PSS summed, which does not).
#
# All traffic is on 127.0.0.1. Every wait is bounded; everything started here is stopped on exit.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if ((SMOKE)); then
    : "${GATEWAYS:=20}"
    : "${MEASURE_S:=6}"
    : "${SETTLE_S:=1}"
    : "${UP_TIMEOUT_S:=30}"
fi
GATEWAYS="${GATEWAYS:-5000}"
BASE_PORT="${BASE_PORT:-20000}"
MEASURE_S="${MEASURE_S:-60}"
SETTLE_S="${SETTLE_S:-10}"
UP_TIMEOUT_S="${UP_TIMEOUT_S:-120}"
INTERVAL_S=5
TIMEOUT_MS=2000

RESPONDERS="$EXAMPLES_DIR/udp_responders"
CLK_TCK="$(getconf CLK_TCK)"
WORK="$(mktemp -d /tmp/pinger_5000.XXXXXX)"
STATS="$WORK/responders.stats"

RESP_PID=""
DT_PID=""
KAM_PID=""


cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # Kamailio's main process stops its children on SIGTERM.
    stop_pid "$KAM_PID" 10
    stop_pid "$DT_PID" 20
    stop_pid "$RESP_PID" 5
    if [[ "${KEEP_WORK:-0}" == 1 || $rc -ne 0 ]]; then
        log "logs and configs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for cmd in curl jq awk python3 getconf; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd is required"
done

free_port() { # $1: tcp or udp
    python3 - "$1" <<'EOF'
import socket, sys
kind = socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

# --- /proc readings -----------------------------------------------------------------------------

# The pid and all its descendants.
tree() {
    local pid="$1" child
    kill -0 "$pid" 2>/dev/null || return 0
    echo "$pid"
    for child in $(pgrep -P "$pid" || true); do tree "$child"; done
}

# CPU ticks (utime+stime) of a process tree, plus the root's cutime+cstime (children that exited).
cpu_ticks() {
    local root="$1" pid total=0 t
    for pid in $(tree "$root"); do
        # Fields after the ")" of comm: utime is the 12th, stime the 13th, cutime/cstime 14th/15th.
        t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk -v root=$((pid == root)) \
            '{print $12 + $13 + (root ? $14 + $15 : 0)}') || t=0
        total=$((total + ${t:-0}))
    done
    echo "$total"
}

# Sum of a /proc/PID/status field (KiB) over a process tree.
status_kib() {
    local root="$1" field="$2" pid total=0 v
    for pid in $(tree "$root"); do
        v=$(awk -v f="$field:" '$1 == f {print $2}' "/proc/$pid/status" 2>/dev/null) || v=0
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# Context switches (voluntary + involuntary) of every thread of a process tree.
ctx_switches() {
    local root="$1" pid total=0 v
    for pid in $(tree "$root"); do
        v=$(cat /proc/"$pid"/task/*/status 2>/dev/null | awk '/ctxt_switches:/ {s += $2} END {print s + 0}') || v=0
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# Sum of Pss (KiB) over a process tree.
pss_kib() {
    local root="$1" pid total=0 v
    for pid in $(tree "$root"); do
        v=$(awk '$1 == "Pss:" {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null) || v=0
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# --- responders ---------------------------------------------------------------------------------

stat_field() { awk -v f="$1" '$1 == f {v = $2; exit} END {print v + 0}' "$2"; }

# Waits for the responders' next once-a-second stats write and copies it to $1, so a window starts
# and ends on a write (within the 10 ms poll).
snapshot_stats() {
    local dest="$1" before now
    before=$(stat -c %Y.%y "$STATS" 2>/dev/null || echo none)
    for _ in $(seq 1 300); do
        now=$(stat -c %Y.%y "$STATS" 2>/dev/null || echo none)
        [[ "$now" != "$before" ]] && break
        sleep 0.01
    done
    cp "$STATS" "$dest"
}

# Ports (responders) whose count did not grow between two snapshots; and min/max growth.
port_growth() {
    awk 'NR == FNR { if ($1 ~ /^[0-9]+$/) a[$1] = $2; next }
         $1 ~ /^[0-9]+$/ { d = $2 - a[$1]; if (d == 0) zero++; if (min == "" || d < min) min = d;
                            if (d > max) max = d }
         END { printf "%d %d %d\n", zero, min, max }' "$1" "$2"
}

# --- measuring one contender --------------------------------------------------------------------

# measure NAME ROOT_PID: the window of MEASURE_S seconds; sets M_* variables.
measure() {
    local name="$1" root="$2" c0 c1 t0 t1 x0 x1 u0 u1 b0 b1 r0 r1 datagrams
    snapshot_stats "$WORK/$name.before"
    u0=$(udp_rcvbuf_errors)
    b0=$(busy_ticks)
    r0=$(cpu_ticks "$RESP_PID")
    c0=$(cpu_ticks "$root")
    x0=$(ctx_switches "$root")
    t0=$(date +%s%N)
    # The responders write their stats once a second: end on the write MEASURE_S s after the first.
    sleep "$(awk -v s="$MEASURE_S" 'BEGIN {print s - 0.5}')"
    snapshot_stats "$WORK/$name.after"
    c1=$(cpu_ticks "$root")
    r1=$(cpu_ticks "$RESP_PID")
    b1=$(busy_ticks)
    x1=$(ctx_switches "$root")
    u1=$(udp_rcvbuf_errors)
    t1=$(date +%s%N)
    kill -0 "$root" 2>/dev/null || die "$name exited during the measurement"
    M_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1e9}')
    M_CPU=$(awk -v c=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", c / hz}')
    datagrams=$(($(stat_field total "$WORK/$name.after") - $(stat_field total "$WORK/$name.before")))
    M_RETRANS=$(($(stat_field retrans "$WORK/$name.after") - $(stat_field retrans "$WORK/$name.before")))
    M_PINGS=$((datagrams - M_RETRANS))
    M_DROPS=$((u1 - u0))
    # Cores kept busy over the window: the machine, the responders, and everything else (neither
    # the contender nor the responders: other people's builds and tests skew the figures).
    M_BUSY=$(awk -v c=$((b1 - b0)) -v hz="$CLK_TCK" -v s="$M_SECONDS" 'BEGIN {printf "%.2f", c / hz / s}')
    M_RESP_CORES=$(awk -v c=$((r1 - r0)) -v hz="$CLK_TCK" -v s="$M_SECONDS" 'BEGIN {printf "%.2f", c / hz / s}')
    M_OTHERS=$(awk -v b=$((b1 - b0)) -v r=$((r1 - r0)) -v c=$((c1 - c0)) -v hz="$CLK_TCK" -v s="$M_SECONDS" \
        'BEGIN {o = (b - r - c) / hz / s; printf "%.2f", o < 0 ? 0 : o}')
    M_NON_OPTIONS=$(($(stat_field other "$WORK/$name.after") - $(stat_field other "$WORK/$name.before")))
    read -r M_ZERO M_MIN M_MAX < <(port_growth "$WORK/$name.before" "$WORK/$name.after")
    M_PER_1000=$(awk -v c="$M_CPU" -v p="$M_PINGS" 'BEGIN {if (p > 0) printf "%.4f", c * 1000 / p; else print "nan"}')
    M_RATE=$(awk -v p="$M_PINGS" -v s="$M_SECONDS" 'BEGIN {printf "%.0f", p / s}')
    M_RSS=$(status_kib "$root" VmRSS)
    M_HWM=$(status_kib "$root" VmHWM)
    M_PSS=$(pss_kib "$root")
    local pid
    for pid in $(tree "$root"); do
        printf '%s %s RSS %s kB, PSS %s kB\n' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-60)" \
            "$(awk '$1 == "VmRSS:" {print $2}' "/proc/$pid/status")" \
            "$(awk '$1 == "Pss:" {print $2}' "/proc/$pid/smaps_rollup")"
    done >"$WORK/$name.memory" 2>/dev/null || true
    M_PROCS=$(tree "$root" | wc -l)
    M_THREADS=$(status_kib "$root" Threads)
    M_CTX_PER_PING=$(awk -v x=$((x1 - x0)) -v p="$M_PINGS" 'BEGIN {if (p > 0) printf "%.1f", x / p; else print "nan"}')
    log "$name: $M_PINGS pings (+ $M_RETRANS retransmissions, $M_NON_OPTIONS non-OPTIONS) in ${M_SECONDS}s" \
        "= $M_RATE/s; per port: min $M_MIN, max $M_MAX datagrams, $M_ZERO ports never pinged;" \
        "$M_DROPS UDP datagrams dropped machine-wide for a full receive buffer;" \
        "CPU ${M_CPU}s; $M_PROCS processes, $M_THREADS threads; $M_CTX_PER_PING context switches per ping"
}

# Datagrams the kernel dropped, machine-wide, because a socket's receive buffer was full.
udp_rcvbuf_errors() {
    awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ {print $6; exit}' /proc/net/snmp
}

# Machine-wide busy cores over the window (other work on the machine skews the figures).
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }

# --- build and responders -----------------------------------------------------------------------

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release --bin dialtone --example udp_responders"
    (cd "$REPO_DIR" && cargo build --release --quiet --bin dialtone --example udp_responders) ||
        die "release build failed"
fi
[[ -x "$BIN" && -x "$RESPONDERS" ]] || die "missing $BIN or $RESPONDERS"

start_peers "UDP OPTIONS responders" "$RESPONDERS" "$GATEWAYS" "$WORK/responders.log"
RESP_PID=$PEERS_PID

# --- dialtone -----------------------------------------------------------------------------------

dialtone_figures() {
    if [[ "${SKIP_DIALTONE:-0}" == 1 ]]; then
        echo "dialtone: skipped (SKIP_DIALTONE=1)"
        return 0
    fi
    local http_port sip_port api token first last body code total up down started up_s
    http_port=$(free_port tcp)
    sip_port=$(free_port udp)
    mkdir -p "$WORK/dialtone"
    cat >"$WORK/dialtone.toml" <<EOF
state_directory = "$WORK/dialtone"
[http]
listen = "127.0.0.1:$http_port"
[rate_limit]
requests = 100000
[sip]
listen = ["127.0.0.1:$sip_port"]
[pinger]
interval_s = $INTERVAL_S
down_interval_s = $INTERVAL_S
timeout_ms = $TIMEOUT_MS
[log]
filter = "info"
EOF
    log "dialtone: bootstrap, then serve (HTTP 127.0.0.1:$http_port, SIP 127.0.0.1:$sip_port)"
    serve_with_config "$WORK" "$http_port"

    log "dialtone: creating $GATEWAYS gateways ($(((GATEWAYS + 99) / 100)) trunks of up to 100)"
    for ((first = 0; first < GATEWAYS; first += 100)); do
        last=$((first + 100 < GATEWAYS ? first + 100 : GATEWAYS))
        body=$(jq -cn --arg name "bench-$first" --argjson base "$BASE_PORT" --argjson a "$first" \
            --argjson b "$last" '{name: $name, direction: "outbound", max_channels: 30,
              gateways: [range($a; $b) | {uri: "sip:127.0.0.1:\($base + .)"}]}')
        code=$(curl -s -o "$WORK/trunk.out" -w '%{http_code}' --max-time 30 -X POST \
            -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$body" \
            "$api/v1/siptrunks")
        [[ "$code" == 2* ]] || die "POST /v1/siptrunks answered $code: $(head -c 500 "$WORK/trunk.out")"
    done

    states() {
        curl -sf --max-time 30 -H "Authorization: Bearer $token" "$api/v1/sipgwping/all" |
            jq -r '[.data[].state] | "\(length) \(map(select(. == "up")) | length) \(map(select(. == "down")) | length)"'
    }
    metric_sum() { # a counter summed over its labels
        curl -sf --max-time 10 "$api/metrics" |
            awk -v m="$1" 'index($0, m) == 1 && ($0 ~ "^" m "[ {]") {s += $NF} END {printf "%d\n", s}'
    }
    started=$SECONDS
    while :; do
        read -r total up down < <(states) || die "GET /v1/sipgwping/all failed"
        ((up >= GATEWAYS)) && break
        ((SECONDS - started < UP_TIMEOUT_S)) ||
            die "dialtone: only $up of $total gateways up ($down down) after ${UP_TIMEOUT_S}s"
        sleep 2
    done
    up_s=$((SECONDS - started))
    log "dialtone: all $up gateways up after ${up_s}s; settling ${SETTLE_S}s"
    sleep "$SETTLE_S"

    local probes0 probes1
    probes0=$(metric_sum pinger_probes_total)
    measure dialtone "$DT_PID"
    probes1=$(metric_sum pinger_probes_total)
    read -r total up down < <(states) || true
    curl -sf --max-time 10 "$api/metrics" >"$WORK/dialtone.metrics" || true
    stop_pid "$DT_PID" 20
    DT_PID=""
    local warn errors changes
    warn=$(grep -c -E ' (WARN|ERROR) ' "$WORK/dialtone.log" || true)
    errors=$(grep -c -E ' ERROR ' "$WORK/dialtone.log" || true)
    changes=$(grep -c 'gateway state changed' "$WORK/dialtone.log" || true)
    log "dialtone: log has $warn WARN/ERROR lines ($errors ERROR, $changes 'gateway state changed')"
    grep -E ' (WARN|ERROR) ' "$WORK/dialtone.log" | grep -v 'gateway state changed' | head -n 5 >&2 || true

    echo
    echo "dialtone: $M_PINGS pings in $M_SECONDS s, $M_PER_1000 CPU s per 1000 pings, RSS $(mib "$M_RSS") MiB"
    echo "  ($M_CPU CPU s = $(awk -v c="$M_CPU" -v s="$M_SECONDS" 'BEGIN {printf "%.1f", 100 * c / s}')% of a core;" \
        "$M_RATE pings/s; $M_RETRANS retransmissions; pinger_probes_total +$((probes1 - probes0));" \
        "per gateway $M_MIN-$M_MAX datagrams, $M_ZERO never pinged; $M_DROPS UDP receive-buffer drops;" \
        "VmHWM $(mib "$M_HWM") MiB; $M_THREADS threads, $M_CTX_PER_PING context switches per ping;" \
        "all up after ${up_s}s; at the end $up up, $down down of $total;" \
        "$warn WARN/ERROR log lines, $changes of them the unknown->up changes;" \
        "machine busy $M_BUSY of 2 cores: responders $M_RESP_CORES, other processes $M_OTHERS)"
    DT_PER_1000=$M_PER_1000
    DT_RSS=$M_RSS
    DT_OK=1
}

# --- Kamailio -----------------------------------------------------------------------------------

kamailio_figures() {
    if [[ "${SKIP_KAMAILIO:-0}" == 1 ]]; then
        echo "kamailio: skipped (SKIP_KAMAILIO=1)"
        return 0
    fi
    if ! command -v kamailio >/dev/null 2>&1; then
        log "kamailio not found; apt-get install -y kamailio"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kamailio >"$WORK/apt.log" 2>&1; then
            apt-get update -qq >>"$WORK/apt.log" 2>&1 || true
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kamailio >>"$WORK/apt.log" 2>&1 || {
                echo "kamailio: cannot be installed: $(tail -n 3 "$WORK/apt.log" | tr '\n' ' ')"
                return 0
            }
        fi
    fi
    local kam_version modules kport maxbuffer="${KAMAILIO_MAXBUFFER:-4194304}"
    kam_version=$(kamailio -v 2>/dev/null | awk 'NR == 1 {print $3; exit}')
    # The package's own file list first: a find over /usr/lib (gigabytes here) takes minutes.
    # awk reads the whole list: `grep -m 1` could end the pipe early, fail it under pipefail and
    # add find's line to grep's.
    local module
    module=$(dpkg -L kamailio 2>/dev/null | awk '/\/modules\/dispatcher\.so$/ && !found {print; found = 1}')
    [[ -n "$module" ]] ||
        module=$(find /usr/lib -path '*/kamailio/modules/dispatcher.so' -print -quit 2>/dev/null)
    modules=$(dirname "$module")
    if [[ ! -f "$modules/dispatcher.so" ]]; then
        echo "kamailio: dispatcher.so not found under /usr/lib"
        return 0
    fi
    kport=$(free_port udp)
    for ((i = 0; i < GATEWAYS; i++)); do
        echo "1 sip:127.0.0.1:$((BASE_PORT + i))"
    done >"$WORK/dispatcher.list"
    cat >"$WORK/kamailio.cfg" <<EOF
#!KAMAILIO
# Minimal OPTIONS pinger: dispatcher probes every destination of set 1 every $INTERVAL_S s.
debug=1
log_stderror=yes
fork=yes
children=2
listen=udp:127.0.0.1:$kport
disable_tcp=yes
auto_aliases=no
dns=no
rev_dns=no
use_dns_cache=no
# Largest UDP receive buffer Kamailio grows its socket to (the kernel caps it at rmem_max): the
# replies to one round of pings arrive in a burst.
maxbuffer=$maxbuffer
mpath="$modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "jsonrpcs.so"
loadmodule "dispatcher.so"
# RPC over a FIFO only (kamcmd's binrpc cannot take a dispatcher.list of thousands of entries).
modparam("jsonrpcs", "transport", 2)
modparam("jsonrpcs", "fifo_name", "$WORK/kamailio_rpc.fifo")
modparam("jsonrpcs", "fifo_reply_dir", "$WORK/")
# Same give-up time as dialtone's timeout_ms.
modparam("tm", "fr_timer", $TIMEOUT_MS)
modparam("dispatcher", "list_file", "$WORK/dispatcher.list")
modparam("dispatcher", "ds_ping_interval", $INTERVAL_S)
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_ping_method", "OPTIONS")
modparam("dispatcher", "ds_ping_from", "sip:kamailio@127.0.0.1")
# dialtone's defaults: 3 failures to go down, 2 successes to come back.
modparam("dispatcher", "ds_probing_threshold", 3)
modparam("dispatcher", "ds_inactive_threshold", 2)
modparam("dispatcher", "ds_ping_reply_codes", "class=2;class=4")
request_route {
    sl_send_reply("404", "Not here");
    exit;
}
EOF
    if ! kamailio -c -f "$WORK/kamailio.cfg" >"$WORK/kamailio.check" 2>&1; then
        echo "kamailio: configuration check failed: $(grep -m 3 -E 'ERROR|CRITICAL' "$WORK/kamailio.check" | tr '\n' ' ')"
        return 0
    fi
    log "kamailio $kam_version: starting (UDP 127.0.0.1:$kport, children=2, maxbuffer=$maxbuffer," \
        "$GATEWAYS destinations)"
    snapshot_stats "$WORK/kamailio.start"
    # -DD: stay in the foreground (children are still forked), -E: log to stderr; shared and
    # private (per process) memory pools (Debian's defaults are 64 and 8 MiB).
    kamailio -DD -E -m "${KAMAILIO_SHM_MB:-256}" -M "${KAMAILIO_PKG_MB:-8}" -f "$WORK/kamailio.cfg" \
        -P "$WORK/kamailio.pid" >"$WORK/kamailio.log" 2>&1 &
    KAM_PID=$!
    sleep 2
    if ! kill -0 "$KAM_PID" 2>/dev/null; then
        echo "kamailio: did not start: $(tail -n 5 "$WORK/kamailio.log" | tr '\n' ' ')"
        KAM_PID=""
        return 0
    fi
    kam_rpc() { # JSON-RPC over the FIFO: prints the reply
        local reply="rpc_reply_$RANDOM"
        rm -f "$WORK/$reply" && mkfifo "$WORK/$reply"
        timeout 20 cat "$WORK/$reply" >"$WORK/$reply.json" &
        local reader=$!
        timeout 10 bash -c 'printf "%s\n" "$1" >"$2"' _ \
            "{\"jsonrpc\": \"2.0\", \"method\": \"$1\", \"reply_name\": \"$reply\", \"id\": 1}" \
            "$WORK/kamailio_rpc.fifo" || true
        wait "$reader" || true
        cat "$WORK/$reply.json"
        rm -f "$WORK/$reply" "$WORK/$reply.json"
    }
    kam_flags() { # FLAGS of every destination, counted: "AP 5000"
        kam_rpc dispatcher.list |
            jq -r '[.. | objects | select(has("FLAGS")) | .FLAGS] | group_by(.) |
                   map("\(.[0]) \(length)") | join("; ")' 2>/dev/null || true
    }
    # Up: every responder has been pinged by Kamailio and dispatcher lists every destination
    # active (flags AP).
    local started=$SECONDS zero active up_s
    while :; do
        cp "$STATS" "$WORK/kamailio.now"
        read -r zero _ _ < <(port_growth "$WORK/kamailio.start" "$WORK/kamailio.now")
        active=$(kam_flags | awk -v RS='; ' '$1 == "AP" {print $2}')
        active=${active:-0}
        ((zero == 0 && active >= GATEWAYS)) && break
        if ((SECONDS - started >= UP_TIMEOUT_S)); then
            echo "kamailio: after ${UP_TIMEOUT_S}s, $((GATEWAYS - zero)) of $GATEWAYS gateways pinged," \
                "dispatcher flags: $(kam_flags)"
            return 0
        fi
        sleep 2
    done
    up_s=$((SECONDS - started))
    log "kamailio: all $active destinations active after ${up_s}s; settling ${SETTLE_S}s"
    sleep "$SETTLE_S"
    local flags errors rcvbuf
    # The receive buffer Kamailio's SIP socket got (ss: skmem rb).
    rcvbuf=$(ss -uanmp "src 127.0.0.1:$kport" 2>/dev/null | grep -o 'rb[0-9]*' | head -n 1 | tr -d rb)
    measure kamailio "$KAM_PID"
    flags=$(kam_flags)
    errors=$(grep -c -E 'ERROR|CRITICAL' "$WORK/kamailio.log" || true)
    echo
    echo "kamailio: $M_PINGS pings in $M_SECONDS s, $M_PER_1000 CPU s per 1000 pings," \
        "RSS $(mib "$M_RSS") MiB summed over $M_PROCS processes (PSS $(mib "$M_PSS") MiB)"
    echo "  ($M_CPU CPU s = $(awk -v c="$M_CPU" -v s="$M_SECONDS" 'BEGIN {printf "%.1f", 100 * c / s}')% of a core;" \
        "$M_RATE pings/s; $M_RETRANS retransmissions; per gateway $M_MIN-$M_MAX datagrams," \
        "$M_ZERO never pinged; $M_DROPS UDP receive-buffer drops; VmHWM summed $(mib "$M_HWM") MiB;" \
        "$M_CTX_PER_PING context switches per ping; all active after ${up_s}s;" \
        "dispatcher flags at the end: ${flags:-?}; $errors ERROR log lines;" \
        "machine busy $M_BUSY of 2 cores: responders $M_RESP_CORES, other processes $M_OTHERS;" \
        "kamailio $kam_version, maxbuffer $maxbuffer," \
        "SIP socket receive buffer ${rcvbuf:-?} bytes)"
    KAM_PER_1000=$M_PER_1000
    KAM_RSS=$M_RSS
    KAM_PSS=$M_PSS
    KAM_OK=1
}

# Each sets its *_OK=1 when it has figures; they return 0 either way, so that `set -e` stays in force
# inside them (it is ignored in a function called as a condition).
DT_OK=0
KAM_OK=0
dialtone_figures
kamailio_figures
echo
if ((DT_OK && KAM_OK)); then
    awk -v k="$KAM_PER_1000" -v d="$DT_PER_1000" 'BEGIN {
        if (d > 0) printf "ratio: kamailio CPU per 1000 pings / dialtone CPU per 1000 pings = %.2f\n", k / d
        else print "ratio: n/a (dialtone used no measurable CPU)" }'
    echo "memory: dialtone RSS $(mib "$DT_RSS") MiB; kamailio RSS $(mib "$KAM_RSS") MiB summed over" \
        "its processes (PSS $(mib "$KAM_PSS") MiB)"
elif ((DT_OK)); then
    echo "kamailio: no figures (see above); dialtone's figures stand alone"
fi
