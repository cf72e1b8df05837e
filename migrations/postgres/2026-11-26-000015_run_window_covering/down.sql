DROP INDEX runs_warehouse_started;
CREATE INDEX runs_warehouse_started ON runs (warehouse_type, started_at);
