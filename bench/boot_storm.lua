-- wrk script of bench/boot_storm.sh: every request fetches another phone's per-MAC file with that
-- phone's own credentials (HTTP Basic over TLS), cycling through the list in $BOOT_STORM_LIST
-- (lines "path authorization-header-value"); threads start at different offsets. At the end it
-- prints one machine-readable line like bench/auth.lua:
--   BENCH requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N max_us=N non2xx3xx=N ...

local list = os.getenv("BOOT_STORM_LIST")
if list == nil or list == "" then
  error("BOOT_STORM_LIST is not set")
end

local threads = 0
function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

local paths, auths, n, i = {}, {}, 0, 0
function init(args)
  for line in io.lines(list) do
    local path, auth = line:match("^(%S+) (.+)$")
    n = n + 1
    paths[n] = path
    auths[n] = auth
  end
  -- `offset` is set by setup(); spread the threads over the list.
  i = math.floor((offset or 0) * n / 7)
end

function request()
  i = i % n + 1
  return wrk.format("GET", paths[i], { ["Authorization"] = auths[i] })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "non2xx3xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
