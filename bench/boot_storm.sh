#!/usr/bin/env bash
# Boot storm: 10,000 registered phones fetch their per-MAC files from the provisioning listener,
# each with its own credentials, next to nginx serving the same files pre-rendered as static
# files, in the same run, over the same TLS, with the same wrk script.
#
# Steps: release build; `dialtone serve` from a throw-away SQLite state directory with the
# provisioning listener on a free 127.0.0.1 port, HTTPS with a self-signed certificate (openssl)
# and budgets wide open; $BENCH_DEVICES Yealink devices created through POST /v1/devices/bulk
# (1000 per request) with known provisioning passwords; one pass of curl (one process, kept-alive
# connection) fetches every phone's file once: that checks every answer, warms the cache (its
# duration is printed as the cold figure) and writes the pre-rendered files nginx serves; then
# nginx (run as nobody when we are root) on another free port; then wrk against both.
#
# Why Basic over TLS: wrk cannot do the Digest round trip (401, then the answer), and a
# precomputed Digest answer would need a nonce living for the whole run. Basic over TLS is what
# the server accepts from phones that cannot do Digest, costs one constant-time comparison, and
# nginx gets the identical TLS and requests (it ignores the Authorization header).
#
# Prints, e.g.
#   dialtone: 9000 req/s, p99 12.00 ms (...)
#   nginx:    20000 req/s, p99 5.00 ms (...)
#   ratio dialtone/nginx: 0.45 of the requests/s, 2.40x the p99
#
# Knobs: BENCH_DEVICES (10000), BENCH_DURATION (s, 20), BENCH_THREADS (2), BENCH_CONNECTIONS (64),
# BENCH_WARMUP (s, 3), BENCH_SKIP_BUILD=1, BENCH_KEEP=1 (keep the state directory).
# Exit status: 0, or 3 when wrk saw non-2xx answers or socket errors (numbers still printed).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if ((SMOKE)); then
    : "${BENCH_DEVICES:=20}"
    : "${BENCH_DURATION:=2}"
    : "${BENCH_WARMUP:=0}"
    : "${BENCH_THREADS:=1}"
    : "${BENCH_CONNECTIONS:=4}"
fi

DEVICES="${BENCH_DEVICES:-10000}"
DURATION="${BENCH_DURATION:-20}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
WARMUP="${BENCH_WARMUP:-3}"
NGINX="${BENCH_NGINX:-/usr/sbin/nginx}"

need_cmd wrk
need_cmd curl
need_cmd jq
need_cmd openssl
need_cmd python3
[[ -x "$NGINX" ]] || need_cmd nginx
command -v nginx >/dev/null 2>&1 && [[ ! -x "$NGINX" ]] && NGINX=$(command -v nginx)
build_release

STATE_DIR=$(mktemp -d -t dialtone-boot.XXXXXX)
chmod 755 "$STATE_DIR"
DAEMON_PID=""
NGINX_PID=""
cleanup() {
    stop_daemon
    if [[ -n "$NGINX_PID" ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
        kill -QUIT "$NGINX_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NGINX_PID" 2>/dev/null || true
    fi
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then log "kept $STATE_DIR"; else rm -rf "$STATE_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(free_port)
PROV_PORT=$(free_port)
NGINX_PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
log "state directory $STATE_DIR; API 127.0.0.1:$PORT, provisioning 127.0.0.1:$PROV_PORT, nginx 127.0.0.1:$NGINX_PORT"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$STATE_DIR/prov.key" -out "$STATE_DIR/prov.crt" 2>/dev/null || die "openssl failed"
chmod 644 "$STATE_DIR/prov.key"

# dialtone_vars puts the provisioning listener on 127.0.0.1:0 unless told otherwise, and the
# environment overrides the file: name the port there.
export DIALTONE_PROVISIONING_LISTEN="127.0.0.1:$PROV_PORT"
cat >"$STATE_DIR/dialtone.toml" <<TOML
[provisioning]
tls_cert = "$STATE_DIR/prov.crt"
tls_key = "$STATE_DIR/prov.key"
# One address fetches for 10,000 phones; nothing here is an attack.
max_failures_per_ip = 1000000
max_failures_per_device = 1000000
TOML

bootstrap
dialtone_vars
env "${DIALTONE_VARS[@]}" "$BIN" serve --config "$STATE_DIR/dialtone.toml" >>"$STATE_DIR/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_ready 60
check_loopback_only
TOKEN=$(login)

log "creating $DEVICES devices through POST /v1/devices/bulk"
python3 - "$DEVICES" "$STATE_DIR" <<'PY'
import json, sys
count, out = int(sys.argv[1]), sys.argv[2]
rows = []
for n in range(count):
    mac = "0015659%05x" % n
    rows.append({"mac": mac, "vendor": "yealink", "model": "T54W",
                 "provisioning_password": "bench-%s-pw" % mac,
                 "lines": [{"username": str(1000 + n), "password": "line-%s-pw" % mac,
                            "registrar": "pbx.bench.example:5060"}]})
with open(out + "/list.txt", "w") as lst:
    import base64
    for r in rows:
        mac, pw = r["mac"], r["provisioning_password"]
        auth = base64.b64encode(("%s:%s" % (mac, pw)).encode()).decode()
        lst.write("/%s.cfg Basic %s\n" % (mac, auth))
for i in range(0, count, 1000):
    with open("%s/bulk-%05d.json" % (out, i), "w") as f:
        json.dump({"devices": rows[i:i + 1000]}, f)
PY
for body in "$STATE_DIR"/bulk-*.json; do
    created=$(api POST /v1/devices/bulk "@$body" | jq '.data | length')
    [[ "$created" -gt 0 ]] || die "bulk create of $body created nothing"
done
total=$(api GET '/v1/devices?limit=1' | jq -r '.total')
[[ "$total" == "$DEVICES" ]] || die "expected $DEVICES devices, the API lists $total"

# The pre-render pass: every phone's file once, through the provisioning server (cold cache).
mkdir -p "$STATE_DIR/www"
python3 - "$STATE_DIR" "$PROV_PORT" <<'PY'
import sys
out, port = sys.argv[1], sys.argv[2]
with open(out + "/list.txt") as lst, open(out + "/curl.cfg", "w") as cfg:
    for n, line in enumerate(lst):
        path, auth = line.rstrip("\n").split(" ", 1)
        if n:
            cfg.write("next\n")
        cfg.write('url = "https://127.0.0.1:%s%s"\n' % (port, path))
        cfg.write('header = "Authorization: %s"\n' % auth)
        cfg.write('output = "%s/www%s"\n' % (out, path))
        cfg.write('cacert = "%s/prov.crt"\nfail\nsilent\nshow-error\n' % out)
PY
t0=$(date +%s%N)
curl --config "$STATE_DIR/curl.cfg" || die "the pre-render pass failed (some phone was refused)"
t1=$(date +%s%N)
files=$(find "$STATE_DIR/www" -name '*.cfg' | wc -l)
[[ "$files" == "$DEVICES" ]] || die "pre-render pass wrote $files files, expected $DEVICES"
grep -q "line-001565900000-pw" "$STATE_DIR/www/001565900000.cfg" || die "rendered file lacks its line password"
cold_ms=$(( (t1 - t0) / 1000000 ))
log "pre-render pass: $DEVICES sequential fetches in ${cold_ms} ms (cold cache, one connection)"
chmod -R a+rX "$STATE_DIR/www"

mkdir -p "$STATE_DIR/nginx/logs"
cat >"$STATE_DIR/nginx/nginx.conf" <<NGX
worker_processes auto;
pid $STATE_DIR/nginx/nginx.pid;
error_log $STATE_DIR/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $STATE_DIR/nginx/body;
    proxy_temp_path $STATE_DIR/nginx/proxy;
    fastcgi_temp_path $STATE_DIR/nginx/fastcgi;
    uwsgi_temp_path $STATE_DIR/nginx/uwsgi;
    scgi_temp_path $STATE_DIR/nginx/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        ssl_certificate $STATE_DIR/prov.crt;
        ssl_certificate_key $STATE_DIR/prov.key;
        root $STATE_DIR/www;
        default_type "text/plain; charset=utf-8";
        add_header Cache-Control no-store;
    }
}
NGX
run_nginx=("$NGINX" -p "$STATE_DIR/nginx" -c "$STATE_DIR/nginx/nginx.conf" -g 'daemon off;')
if [[ $(id -u) -eq 0 ]]; then
    chown -R nobody "$STATE_DIR/nginx"
    setpriv --reuid=nobody --regid=nogroup --clear-groups "${run_nginx[@]}" 2>>"$STATE_DIR/nginx/stderr" &
else
    "${run_nginx[@]}" 2>>"$STATE_DIR/nginx/stderr" &
fi
NGINX_PID=$!
for _ in $(seq 1 100); do
    curl -sf --cacert "$STATE_DIR/prov.crt" -o /dev/null "https://127.0.0.1:$NGINX_PORT/001565900000.cfg" && break
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$STATE_DIR/nginx/stderr" >&2; die "nginx exited"; }
    sleep 0.1
done
cmp -s <(curl -sf --cacert "$STATE_DIR/prov.crt" "https://127.0.0.1:$NGINX_PORT/001565900001.cfg") \
    "$STATE_DIR/www/001565900001.cfg" || die "nginx does not serve the pre-rendered file"

export BOOT_STORM_LIST="$STATE_DIR/list.txt"
status=0
summaries=()
declare -A RPS P99
# CPU ticks of a process and its children (nginx's workers).
tree_ticks() {
    local total=0 p
    for p in "$1" $(ps --ppid "$1" -o pid= 2>/dev/null); do
        total=$((total + $(cpu_ticks "$p" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
# run_wrk NAME URL PID
run_wrk() {
    local name="$1" url="$2" pid="$3" out="$STATE_DIR/wrk-$1.txt" line kv idle cpu0 cpu1 t0 t1
    idle=$(wait_quiet)
    ((WARMUP > 0)) && timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" \
        --timeout 5s -s "$BENCH_DIR/boot_storm.lua" "$url" >/dev/null
    cpu0=$(tree_ticks "$pid"); t0=$(date +%s%N)
    log "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s $url (machine busy before: $idle cores)"
    timeout $((DURATION + 60)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s \
        --latency -s "$BENCH_DIR/boot_storm.lua" "$url" >"$out"
    t1=$(date +%s%N); cpu1=$(tree_ticks "$pid")
    line=$(grep '^BENCH ' "$out") || die "no BENCH line in the wrk output of $name"
    for kv in ${line#BENCH }; do printf -v "w_${kv%%=*}" '%s' "${kv#*=}"; done
    local errors=$((w_connect_errors + w_read_errors + w_write_errors + w_timeouts))
    RPS[$name]=$w_rps
    P99[$name]=$w_p99_us
    summaries+=("$(awk -v n="$name" -v rps="$w_rps" -v p99="$w_p99_us" -v p50="$w_p50_us" -v mx="$w_max_us" \
        -v bad="$w_non2xx3xx" -v se="$errors" -v req="$w_requests" \
        'BEGIN {printf "%-9s %.0f req/s, p99 %.2f ms (p50 %.2f ms, max %.2f ms; %d requests, non-2xx %d, socket errors %d)",
                n ":", rps, p99 / 1000, p50 / 1000, mx / 1000, req, bad, se}'); server process CPU $(cores $((cpu1 - cpu0)) $((t1 - t0))) cores")
    ((w_non2xx3xx == 0 && errors == 0)) || status=3
}

# CPU is the server's own (nginx: master and workers), in cores, over the measured run.
run_wrk dialtone "https://127.0.0.1:$PROV_PORT" "$DAEMON_PID"
run_wrk nginx "https://127.0.0.1:$NGINX_PORT" "$NGINX_PID"

metrics=$(curl -sf --max-time 10 "$BASE/metrics" || true)
log "provisioning counters:"
grep '^provisioning_requests_total' <<<"$metrics" >&2 || true
if grep -qiE 'error|panic' "$STATE_DIR/daemon.log"; then
    log "daemon log has errors:"; grep -iE 'error|panic' "$STATE_DIR/daemon.log" | tail -n 20 >&2
    status=3
fi

echo
echo "== boot storm: $DEVICES phones, per-MAC files, Basic over TLS, $(nproc) CPUs (shared), wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s after ${WARMUP}s warm-up, SQLite"
echo "cold pass (cache empty, one curl connection, sequential): $DEVICES fetches in ${cold_ms} ms"
for s in "${summaries[@]}"; do echo "$s"; done
awk -v dr="${RPS[dialtone]}" -v nr="${RPS[nginx]}" -v dp="${P99[dialtone]}" -v np="${P99[nginx]}" \
    'BEGIN {printf "ratio dialtone/nginx: %.2f of the requests/s, %.2fx the p99\n", dr / nr, dp / np}'
((status == 0)) || echo "WARNING: non-2xx answers, socket errors or daemon errors above"
exit "$status"
