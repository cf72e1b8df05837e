-- bench/peer-common.lua: what bench/peer's two wrk scripts share: threads kept for done(),
-- every answer other than `expected_status` (set by the script before it loads this file)
-- counted as an error with the first one kept, and one RESULT line for bench/peer to read.

local threads = {}

function setup(thread)
   thread:set("thread_id", #threads + 1)
   table.insert(threads, thread)
end

-- Globals, so that done() can read them from each thread (thread:get).
bad, first_bad = 0, nil

function response(status, headers, body)
   if status ~= expected_status then
      bad = bad + 1
      first_bad = first_bad or (status .. " " .. string.sub(body or "", 1, 200))
   end
end

function done(summary, latency, requests)
   local bad_total, sample = 0, nil
   for _, thread in ipairs(threads) do
      bad_total = bad_total + thread:get("bad")
      sample = sample or thread:get("first_bad")
   end
   if sample then
      io.write("first unexpected answer: " .. sample:gsub("%s+", " ") .. "\n")
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d bad_status=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
      summary.requests, summary.duration, bad_total, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.max))
end
