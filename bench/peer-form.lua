-- bench/peer-form.lua: wrk script for bench/peer's peer row. POSTs django-helpdesk's
-- public ticket form, a different title, body and submitter on every request, with the
-- CSRF cookie and field a browser keeps after loading the form once.
-- Arguments (after wrk's `--`): csrf field value, csrf cookie value, queue id.
-- Success is the 302 to the new ticket; a 200 is the form shown again with errors.

-- Shared: threads, the answer check (`expected_status`) and the RESULT line.
expected_status = 302
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "peer-common.lua")
local sent = 0
local csrf_field, queue

local function urlencode(text)
   return (text:gsub("[^%w%-%._~ ]", function(c)
      return string.format("%%%02X", string.byte(c))
   end):gsub(" ", "+"))
end

local tables = { "ANALYTICS.SALES.ORDERS", "proj.core.users", "dw.finance.invoices",
   "public.customers", "main.ops.shipments", "local.main.trips" }
local problems = {
   "the profile still shows last week's row count although we reloaded it on Monday",
   "the column zip is detected as integer but it holds postal codes",
   "generating the inspector report fails with 'Report generation failed (code R-502)'",
   "the profiling run keeps timing out and we have no profile at all",
   "the freshness badge is green but max(updated_at) in the profile is from last month",
   "could the inspector show percentiles for numeric columns, not just min and max?",
}

function init(args)
   csrf_field, queue = args[1], args[3]
   wrk.method = "POST"
   wrk.path = "/tickets/submit/"
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   wrk.headers["Cookie"] = "csrftoken=" .. args[2]
end

function request()
   sent = sent + 1
   local ref = thread_id .. "-" .. sent
   local tbl = tables[sent % #tables + 1]
   local problem = problems[sent % #problems + 1]
   local body = "csrfmiddlewaretoken=" .. urlencode(csrf_field)
      .. "&queue=" .. queue
      .. "&title=" .. urlencode("Trouble with " .. tbl .. " (ref " .. ref .. ")")
      .. "&body=" .. urlencode("For " .. tbl .. ": " .. problem .. " (ref " .. ref .. ").")
      .. "&priority=3"
      .. "&due_date="
      .. "&submitter_email=" .. urlencode("analyst" .. (sent % 97 + 1) .. "@bench.example")
   return wrk.format(nil, nil, nil, body)
end
