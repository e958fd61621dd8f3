-- wrk script of bench/webhooks.sh: POST /v1/webhooks/<id>/test round-robin over the endpoint ids
-- in $DIALTONE_BENCH_HOOKS (comma-separated), with the bearer token from $DIALTONE_BENCH_TOKEN.
-- $DIALTONE_BENCH_DELAY_MS (optional) paces each connection (a fixed rate for the latency run).

local token = os.getenv("DIALTONE_BENCH_TOKEN")
local hooks = {}
for id in string.gmatch(os.getenv("DIALTONE_BENCH_HOOKS") or "", "[^,]+") do
  hooks[#hooks + 1] = id
end
if token == nil or #hooks == 0 then
  error("DIALTONE_BENCH_TOKEN and DIALTONE_BENCH_HOOKS must be set")
end
local pause = tonumber(os.getenv("DIALTONE_BENCH_DELAY_MS") or "0")
local headers = {["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json"}
local i = 0

request = function()
  i = i % #hooks + 1
  return wrk.format("POST", "/v1/webhooks/" .. hooks[i] .. "/test", headers, "")
end

if pause > 0 then
  delay = function() return pause end
end

function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d non2xx3xx=%d\n", summary.requests, summary.errors.status))
end
