#!/usr/bin/env bash
# The API contract check: schemathesis (pinned, in a venv) against a daemon with seeded data, every
# check (schemathesis' default: all of them; .ci/schemathesis.toml lists the few exceptions and why), every phase (examples, coverage, fuzzing, stateful), a bounded number of examples and a
# fixed seed. Fails on any 5xx, any answer the OpenAPI document does not describe, any undocumented
# status code, and any schema-valid request refused. Usage: .ci/schemathesis.sh [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-${CARGO_TARGET_DIR:-$PWD/target}/debug/dialtone}
version=4.32.5
venv=${SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/dialtone-schemathesis-$version}
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$version"
fi

# Everything below runs in a private network namespace with only loopback, so nothing the fuzzer
# makes the daemon do (ping a gateway, resolve a name, deliver a webhook) can reach another
# address; webhook URLs are therefore not checked for inside addresses here (allow_private).
if [ -z "${DIALTONE_IN_NETNS:-}" ] && unshare -rn true 2>/dev/null; then
  exec unshare -rn env DIALTONE_IN_NETNS=1 SCHEMATHESIS_VENV="$venv" \
    sh -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
api=http://127.0.0.1:$port
export DIALTONE_STATE_DIRECTORY=$dir DIALTONE_HTTP_LISTEN=127.0.0.1:$port \
  DIALTONE_SIP_LISTEN=127.0.0.1:0 DIALTONE_PROVISIONING_LISTEN=127.0.0.1:0 \
  DIALTONE_REDIRECT_LISTEN=127.0.0.1:0 DIALTONE_RATE_LIMIT_REQUESTS=100000000 \
  DIALTONE_WEBHOOKS_ALLOW_PRIVATE=true
printf 'a-long-password\n' | "$bin" bootstrap --username admin --password-stdin >/dev/null
"$bin" serve >"$dir/daemon.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -fs "$api/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
token=$(curl -fs "$api/v1/auth/user" -d '{"username":"admin","password":"a-long-password"}' | jq -r .data.token)
auth="Authorization: Bearer $token"
post() {
  local answer
  answer=$(curl -s -w '\n%{http_code}' -H "$auth" -H 'Accept: application/json' "$api$1" -d "$2")
  case "${answer##*$'\n'}" in 2??) ;; *) echo "seeding $1 failed: $answer" >&2; exit 1 ;; esac
}
# Seed: a small tree and one of each object, so reads and the stateful phase reach real rows.
post /v1/organizations '{"name":"Acme Distribution","type":"distributor","timezone":"Europe/Berlin"}'
post /v1/organizations '{"name":"Bakery","type":"tenant","parent_id":2,"country":"US"}'
post /v1/users '{"username":"baker","password":"another-password","organization_id":3,"role":"admin","email":"baker@example.com"}'
post /v1/siptrunks '{"name":"Carrier","organization_id":2,"direction":"outbound","max_channels":30,"gateways":[{"uri":"sip:127.0.0.1:5080"}]}'
post /v1/numbers '{"number":"+13125550100","organization_id":3}'
post /v1/devices '{"organization_id":3,"mac":"00:15:65:12:34:ab","vendor":"yealink","model":"T54W","lines":[{"username":"201","registrar":"pbx.example.com"}]}'

SCHEMATHESIS_HOOKS=.ci/schemathesis_hooks.py "$venv/bin/schemathesis" --config-file .ci/schemathesis.toml run "$api/swagger.json" \
  -H "$auth" \
  --exclude-operation-id logout \
  ${SCHEMATHESIS_ONLY:+--include-path-regex "$SCHEMATHESIS_ONLY"} \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
  --seed "${SCHEMATHESIS_SEED:-20261202}" \
  --report junit --report-dir "${SCHEMATHESIS_REPORT_DIR:-$dir/report}"
