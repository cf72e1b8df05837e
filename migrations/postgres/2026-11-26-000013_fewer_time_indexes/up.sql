-- Indexes every write paid for and no query used. Each of these three is keyed by a
-- time that new rows do not bring in order (an SLA due time depends on the severity, a
-- run's start on how long it ran before it was posted), so each new row was an insert
-- on a page of its own, written out again by its commit.
-- * runs (started_at): the run list walks (warehouse_type, started_at) once per
--   warehouse type and merges; telemetry names every warehouse type. It was a fifth
--   of the pages NDJSON ingest wrote.
-- * tickets (sla_due_at, id) and tickets (status, first_response_due): every SLA query
--   filters on status and reads tickets_status_sla (status, sla_due_at, id, sla_warn_at)
--   or tickets_team_status; nothing filters on first_response_due.
DROP INDEX runs_started;
DROP INDEX tickets_sla;
DROP INDEX tickets_status_due;
