-- Replays prepared requests with wrk: `wrk ... -s replay.lua -- FILE MODE THREADS EXPECTED`
-- (EXPECTED: a status, or several separated by commas for a mix of good and bad requests).
--
-- FILE has one request a line, tab-separated: method, path, bearer token, If-None-Match,
-- "idem" when the request needs a unique Idempotency-Key, the JSON body, Accept-Encoding, and a
-- DPoP proof (the token then goes as "Authorization: DPoP"). Each wrk thread
-- takes every THREADS-th line. MODE "once" sends each line at most once (single-use codes
-- and tokens) and stops the thread when its lines run out; "cycle" starts over. Responses
-- whose status is not EXPECTED are counted apart, so failures never pass for speed.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  local path, nthreads = args[1], tonumber(args[3])
  mode, expected = args[2], {}
  for status in args[4]:gmatch("%d+") do expected[tonumber(status)] = true end
  requests, position, matched, unexpected, exhausted = {}, 0, 0, 0, 0
  local sequence, number = 0, 0
  for line in io.lines(path) do
    if number % nthreads == id then
      local f = split(line)
      local headers = {}
      if f[8] ~= nil and f[8] ~= "" then
        headers["Authorization"] = "DPoP " .. f[3]
        headers["DPoP"] = f[8]
      elseif f[3] ~= "" then
        headers["Authorization"] = "Bearer " .. f[3]
      end
      if f[4] ~= "" then headers["If-None-Match"] = f[4] end
      if f[6] ~= "" then headers["Content-Type"] = "application/json" end
      if f[7] ~= nil and f[7] ~= "" then headers["Accept-Encoding"] = f[7] end
      if f[5] == "idem" then
        sequence = sequence + 1
        headers["Idempotency-Key"] = string.format("bench-%d-%d-%d", os.time(), id, sequence)
      end
      local body = nil
      if f[6] ~= "" then body = f[6] end
      table.insert(requests, wrk.format(f[1], f[2], headers, body))
    end
    number = number + 1
  end
end

function request()
  position = position + 1
  if position > #requests then
    if mode == "once" then
      exhausted = 1
      wrk.thread:stop()
      return requests[#requests]
    end
    position = 1
  end
  return requests[position]
end

function response(status, headers, body)
  if exhausted == 1 then return end
  if expected[status] then
    matched = matched + 1
  else
    unexpected = unexpected + 1
  end
end

function done(summary, latency, rates)
  local ok, bad, out = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("matched")
    bad = bad + thread:get("unexpected")
    out = out + thread:get("exhausted")
  end
  io.write(string.format(
    'RESULT {"duration_us": %d, "requests": %d, "expected": %d, "unexpected": %d, ' ..
    '"exhausted_threads": %d, "socket_errors": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d}\n',
    summary.duration, summary.requests, ok, bad, out,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
