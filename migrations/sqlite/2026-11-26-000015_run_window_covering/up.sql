-- The threshold rules and /telemetry's partial hours read a warehouse type's runs over a
-- time window and want only their drill tag, status and duration: with those in the
-- index, a window is read from the index alone instead of one lookup of the run's row per
-- run (the rules read every run of the last hour, every few seconds under ingest). A new
-- run dirties the same index page as before; its entry is ~15 bytes longer.
DROP INDEX runs_warehouse_started;
CREATE INDEX runs_warehouse_started ON runs (warehouse_type, started_at, drill, status, duration_ms);
