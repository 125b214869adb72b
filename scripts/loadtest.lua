-- wrk script for scripts/loadtest: replays pre-signed inbound webhooks from a file.
-- Each thread takes every Nth line (its own slice) in order, so the loader knows exactly
-- which requests a thread completed. Lines: signature TAB form-body. Requests are formatted
-- once, in init, so the load generator spends its share of the two cores on sending.
-- LOADTEST_PORTS (comma-separated) spreads the threads over several servers on 127.0.0.1:
-- thread i goes to the (i mod N)-th port, with its share of the connections.
local threads = {}
local ports = {}
for port in (os.getenv("LOADTEST_PORTS") or ""):gmatch("%d+") do table.insert(ports, port) end

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
  thread:set("count", 0)
  if #ports > 0 then
    thread.addr = wrk.lookup("127.0.0.1", ports[(#threads - 1) % #ports + 1])[1]
  end
end

function init(args)
  local path, total = args[1], tonumber(args[2])
  slice = {}
  local index = 0
  for line in io.lines(path) do
    if index % total == id - 1 then
      local tab = line:find("\t", 1, true)
      table.insert(slice, wrk.format("POST", "/webhooks/twilio/messages",
        {["Content-Type"] = "application/x-www-form-urlencoded", ["X-Twilio-Signature"] = line:sub(1, tab - 1)},
        line:sub(tab + 1)))
    end
    index = index + 1
  end
  next_index = 1
  completed = 0
end

function request()
  local item = slice[next_index]
  next_index = next_index % #slice + 1
  return item
end

function response(status, headers, body)
  if status >= 200 and status < 300 then completed = completed + 1 end
  count = completed
end

function done(summary, latency, requests)
  local per_thread = {}
  for _, thread in ipairs(threads) do table.insert(per_thread, tostring(thread:get("count"))) end
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "non2xx": %d, "socket_errors": %d, "p50_ms": %.3f, "p99_ms": %.3f, "p999_ms": %.3f, "completed_per_thread": [%s]}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    table.concat(per_thread, ", ")))
end
