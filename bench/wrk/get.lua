-- GET the URL given to wrk with a bearer token.  wrk ... URL -- <token or -> [pause ms]
require "report"

function init(args)
   if args[1] and args[1] ~= "-" then
      wrk.headers["Authorization"] = "Bearer " .. args[1]
   end
   pause_ms = tonumber(args[2] or "0")
end
