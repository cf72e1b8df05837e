-- The threshold rules and /telemetry's partial hours read a warehouse type's runs over a
-- time window and want only their drill tag, status and duration: with those in the
-- index, a window can be read by an index-only scan instead of one heap fetch per run
-- (the rules read every run of the last hour, every few seconds under ingest).
DROP INDEX runs_warehouse_started;
CREATE INDEX runs_warehouse_started ON runs (warehouse_type, started_at) INCLUDE (drill, status, duration_ms);
