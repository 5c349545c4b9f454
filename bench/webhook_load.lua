-- wrk script of bench/webhook_load.py: every request a signed webhook body from a precomputed file.
-- Arguments after "--": FILE_PREFIX MODE. Thread n reads FILE_PREFIX-n.txt, one "signature<TAB>body" a line.
-- MODE "once" sends each body at most once (the webhook run: every message id distinct; a thread that runs out
-- stops and says so), "cycle" repeats them (the bare app, which reads nothing).
-- done() prints one line "RESULT {json}" with wrk's counts and latency percentiles plus the per-thread counts.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   prepared = {}
   for line in io.lines(args[1] .. "-" .. id .. ".txt") do
      local tab = line:find("\t", 1, true)
      prepared[#prepared + 1] = wrk.format("POST", "/webhook", {
         ["Content-Type"] = "application/json",
         ["X-Hub-Signature-256"] = line:sub(1, tab - 1),
      }, line:sub(tab + 1))
   end
   cycle = args[2] == "cycle"
   sent, ok, new, enqueued, exhausted = 0, 0, 0, 0, 0
end

function request()
   if sent >= #prepared then
      if not cycle then
         exhausted = 1
         wrk.thread:stop()
      end
      sent_cycle = (sent % #prepared) + 1
   else
      sent_cycle = sent + 1
   end
   sent = sent + 1
   return prepared[sent_cycle]
end

function response(status, headers, body)
   if status == 200 then
      ok = ok + 1
      new = new + tonumber(body:match('"new":%s*(%d+)') or 0)
      enqueued = enqueued + tonumber(body:match('"enqueued":%s*(%d+)') or 0)
   end
end

function done(summary, latency, requests)
   local per_thread = {}
   for _, thread in ipairs(threads) do
      per_thread[#per_thread + 1] = string.format('{"id":%d,"sent":%d,"ok":%d,"new":%d,"enqueued":%d,"exhausted":%d}',
         thread:get("id"), thread:get("sent"), thread:get("ok"), thread:get("new"), thread:get("enqueued"),
         thread:get("exhausted"))
   end
   local e = summary.errors
   io.write(string.format('RESULT {"duration_us":%d,"requests":%d,"connect_errors":%d,"read_errors":%d,' ..
      '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"mean_us":%.1f,"threads":[%s]}\n',
      summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
      table.concat(per_thread, ",")))
end
