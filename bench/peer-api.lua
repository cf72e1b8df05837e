-- bench/peer-api.lua: wrk script for bench/peer's desk row. POSTs a JSON report to
-- /api/v1/reports, varied as bench/loadgen/bodies.rs varies them (reporter, problem kind,
-- warehouse type, seeded and unseen tables, column details, impact), a different
-- description on every request. Success is 201.

-- Shared: threads, the answer check (`expected_status`) and the RESULT line.
expected_status = 201
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "peer-common.lua")
local sent = 0

-- Seeded tables by warehouse type (`inspect-desk seed` files runs for these).
local seeded = {
   { "snowflake", "ANALYTICS.SALES.ORDERS" }, { "snowflake", "RAW.EVENTS.CLICKS" },
   { "bigquery", "proj.core.users" }, { "bigquery", "proj.web.events" },
   { "redshift", "dw.finance.invoices" }, { "postgres", "public.customers" },
   { "databricks", "main.ops.shipments" }, { "duckdb", "local.main.trips" },
}
local warehouses = { "snowflake", "bigquery", "redshift", "postgres", "databricks", "duckdb" }
local kinds = { "stale_profile", "wrong_column_type", "failed_report", "profiling_failure",
   "other", "unsure" }
local impacts = { "blocked", "degraded", "minor" }

local function json_string(text)
   return '"' .. text:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end) .. '"'
end

function init(args)
   wrk.method = "POST"
   wrk.path = "/api/v1/reports"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   sent = sent + 1
   local ref = thread_id .. "-" .. sent
   local warehouse, tbl
   if sent % 20 < 17 then
      local pick = seeded[sent % #seeded + 1]
      warehouse, tbl = pick[1], pick[2]
   else
      -- Tables the desk has no runs for.
      warehouse = warehouses[sent % #warehouses + 1]
      tbl = "unseen" .. (sent % 11) .. ".sch.t" .. (sent % 10000)
   end
   local kind = kinds[sent % #kinds + 1]
   local analyst = sent % 97 + 1
   local fields = {
      '"reporter_name":' .. json_string("Bench Analyst " .. analyst),
      '"reporter_email":' .. json_string("analyst" .. analyst .. "@bench.example"),
      '"kind":' .. json_string(kind),
      '"warehouse_type":' .. json_string(warehouse),
      '"table":' .. json_string(tbl),
   }
   local description
   if kind == "wrong_column_type" then
      table.insert(fields, '"column":"zip","detected_type":"integer","expected_type":"postal_code"')
      description = "zip is detected as integer but it is really postal_code"
   elseif kind == "failed_report" then
      description = "Generating the inspector report for " .. tbl
         .. " fails with 'Report generation failed (code R-502)' after a minute"
   elseif kind == "profiling_failure" then
      description = "The profiling run for " .. tbl .. " keeps timing out and we have no profile at all"
   elseif kind == "stale_profile" then
      description = "The profile for " .. tbl .. " still shows last week's row count; we reloaded it on Monday"
   else
      description = "Freshness badge is green but max(updated_at) in the profile of " .. tbl
         .. " is from last month??"
   end
   local impact = impacts[sent % 4 + 1]
   if impact then table.insert(fields, '"impact":' .. json_string(impact)) end
   table.insert(fields, '"description":' .. json_string(description .. " (ref " .. ref .. ")."))
   return wrk.format(nil, nil, nil, "{" .. table.concat(fields, ",") .. "}")
end
