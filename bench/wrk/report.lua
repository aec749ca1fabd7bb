-- Shared by the wrk scripts of bench/serving.py (wrk runs with bench/wrk as its working directory):
-- counts every answer that is not 2xx per thread, paces requests when asked (unloaded runs), and
-- prints one line "WRK_JSON {...}" at the end that serving.py parses: req/s, latency percentiles
-- (microseconds), socket errors and non-2xx answers.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

non2xx = 0
first_bad = 0
pause_ms = 0
discharges = 0
on_response = nil -- a script's own look at each answer: on_response(status, headers)

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if first_bad == 0 then
         first_bad = status
      end
   end
   if on_response then
      on_response(status, headers)
   end
end

function delay()
   return pause_ms
end

function done(summary, latency, requests)
   local non2xx_total, first, discharged = 0, 0, 0
   for _, thread in ipairs(threads) do
      non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
      discharged = discharged + (thread:get("discharges") or 0)
      local bad = thread:get("first_bad") or 0
      if first == 0 and bad ~= 0 then
         first = bad
      end
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, ' ..
      '"max_us": %d, "mean_us": %.1f, "connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d, ' ..
      '"non2xx": %d, "first_non2xx": %d, "discharges": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(95),
      latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.timeout, e.status,
      non2xx_total, first, discharged))
end
