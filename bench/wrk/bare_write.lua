-- POST /write on the bare baseline: one new encounter per request, every id unique.
--   wrk ... http://host/write -- <token, ignored> <source> <department id> [pause ms]
-- The source is new for every wrk run (serving.py names it); ids are unique per wrk thread.
require "report"

local source, department_id = "bare-write", "1"
local count = 0

function init(args)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   source = args[2]
   department_id = args[3]
   pause_ms = tonumber(args[4] or "0")
end

function request()
   count = count + 1
   local body = string.format(
      '{"source": "%s", "source_id": "w-%d-%d", "department_id": %s, "encounter_class": "emergency", ' ..
      '"status": "in-progress", "start": "%s"}',
      source, id, count, department_id, os.date("!%Y-%m-%dT%H:%M:%SZ"))
   return wrk.format(nil, nil, nil, body)
end
