-- wrk script: unsigned inbound webhooks, unique MessageSids per thread, a mix of keywords and free text.
-- Run against `replyline serve` started without TWILIO_AUTH_TOKEN (see docs/performance.md).
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
function init(args)
  math.randomseed(id * 7919)
end
local bodies = {"Do+you+have+parking%3F", "C", "STOP", "HELP", "R", "START", "What+time+do+you+open+tomorrow%3F", "Thanks%21"}
request = function()
  counter = counter + 1
  local sid = string.format("SM%02d%030d", id, counter)
  local from = string.format("%%2B1415%07d", (id * 1000003 + counter) % 10000)
  local body = "MessageSid=" .. sid .. "&AccountSid=AC1&From=" .. from .. "&To=%2B15017122661&NumMedia=0&Body=" .. bodies[(counter % #bodies) + 1]
  return wrk.format("POST", "/webhooks/twilio/messages", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
