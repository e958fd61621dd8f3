-- wrk script of bench/api_load.sh: sends the bearer token from $DIALTONE_BENCH_TOKEN and, at the
-- end, prints one machine-readable line (exact numbers, no unit parsing needed):
--   BENCH requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N max_us=N non2xx3xx=N
--         connect_errors=N read_errors=N write_errors=N timeouts=N
-- No per-request Lua callback is defined, so wrk keeps its fast path.

local token = os.getenv("DIALTONE_BENCH_TOKEN")
if token == nil or token == "" then
  error("DIALTONE_BENCH_TOKEN is not set")
end
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "non2xx3xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
