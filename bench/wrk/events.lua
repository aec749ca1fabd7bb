-- POST /api/v1/events: live admits and discharges, one event per request, each body unique.
--   wrk ... http://host/api/v1/events -- <token> <source> <departments, comma-separated> [pause ms]
-- Admits open new stays (ids unique per source and wrk thread) in the departments in turn. Every
-- other request discharges a stay whose admit was answered 200: the request carries its own
-- X-Request-ID, which the product echoes in the answer, so a discharge never overtakes its admit
-- and the departments' census stays as seeded (plus the admits in flight).
require "report"

local source, departments = "bench", { "ED" }
local confirmed = {} -- FIFO of admitted encounter numbers, in the order their 200s came back
local head, tail = 1, 0
local next_admit, count = 0, 0
local base_headers = {}

function init(args)
   wrk.method = "POST"
   base_headers["Authorization"] = "Bearer " .. args[1]
   base_headers["Content-Type"] = "application/json"
   source = args[2]
   departments = {}
   for code in string.gmatch(args[3], "[^,]+") do
      table.insert(departments, code)
   end
   pause_ms = tonumber(args[4] or "0")
end

local function now_utc()
   return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

local function with_request_id(request_id)
   local headers = {}
   for name, value in pairs(base_headers) do
      headers[name] = value
   end
   headers["X-Request-ID"] = request_id
   return headers
end

function on_response(status, headers)
   local request_id = headers["X-Request-ID"] or headers["x-request-id"] or ""
   local number = string.match(request_id, "^admit%-%d+%-(%d+)$")
   if status == 200 and number then
      tail = tail + 1
      confirmed[tail] = tonumber(number)
   end
end

function request()
   count = count + 1
   local number = confirmed[head]
   if count % 2 == 0 and number ~= nil then
      confirmed[head] = nil
      head = head + 1
      discharges = discharges + 1
      local body = string.format(
         '{"source": "%s", "events": [{"event_id": "d-%d-%d", "kind": "discharge", "encounter_id": "e-%d-%d", ' ..
         '"occurred_at": "%s"}]}',
         source, id, number, id, number, now_utc())
      return wrk.format(nil, nil, with_request_id(string.format("discharge-%d-%d", id, number)), body)
   end
   next_admit = next_admit + 1
   local department = departments[(next_admit % #departments) + 1]
   local body = string.format(
      '{"source": "%s", "events": [{"event_id": "a-%d-%d", "kind": "admit", "encounter_id": "e-%d-%d", ' ..
      '"patient": "p-%d-%d", "department": "%s", "occurred_at": "%s"}]}',
      source, id, next_admit, id, next_admit, id, next_admit, department, now_utc())
   return wrk.format(nil, nil, with_request_id(string.format("admit-%d-%08d", id, next_admit)), body)
end
