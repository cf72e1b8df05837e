-- Roll-ups kept in step with the runs at ingest, so /telemetry reads hours, tables and
-- typed columns instead of every run of the window. Real runs only (drill = 0).

-- Per warehouse type and clock hour of start: counts by outcome, the longest finished run
-- and a histogram of durations ("bucket:count,…", 16 buckets per doubling). Filled for
-- existing runs by the desk at start.
CREATE TABLE run_hours (
    warehouse_type TEXT NOT NULL,
    hour TIMESTAMP NOT NULL,
    runs BIGINT NOT NULL,
    running BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    timed_out BIGINT NOT NULL,
    max_ms BIGINT,
    durations TEXT NOT NULL,
    PRIMARY KEY (warehouse_type, hour)
);

-- Per table: when it was last profiled, and its latest successful run.
CREATE TABLE table_health (
    warehouse_type TEXT NOT NULL,
    table_name TEXT NOT NULL,
    last_run_at TIMESTAMP NOT NULL,
    last_success_started_at TIMESTAMP,
    last_success_finished_at TIMESTAMP,
    PRIMARY KEY (warehouse_type, table_name)
);
CREATE INDEX table_health_last_run ON table_health (last_run_at);

-- Each column a run typed, per semantic type, with the latest run that typed it so.
CREATE TABLE typed_columns (
    warehouse_type TEXT NOT NULL,
    table_name TEXT NOT NULL,
    column_name TEXT NOT NULL,
    semantic_type TEXT NOT NULL,
    last_typed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (warehouse_type, table_name, column_name, semantic_type)
);
CREATE INDEX typed_columns_last ON typed_columns (last_typed_at, semantic_type);
CREATE INDEX typed_columns_table ON typed_columns (table_name);
-- Confirmed wrong types of a window, without walking every report of the window.
CREATE INDEX tickets_type_verdict ON tickets (type_verdict, created_at);

INSERT INTO table_health (warehouse_type, table_name, last_run_at, last_success_started_at)
SELECT warehouse_type, table_name, MAX(started_at),
       MAX(CASE WHEN status = 'succeeded' THEN started_at END)
FROM runs WHERE drill = 0 GROUP BY warehouse_type, table_name;
UPDATE table_health SET last_success_finished_at = (
    SELECT r.finished_at FROM runs r
    WHERE r.table_name = table_health.table_name
      AND r.warehouse_type = table_health.warehouse_type
      AND r.status = 'succeeded' AND r.drill = 0
      AND r.started_at = table_health.last_success_started_at
    LIMIT 1)
WHERE last_success_started_at IS NOT NULL;

INSERT INTO typed_columns (warehouse_type, table_name, column_name, semantic_type, last_typed_at)
SELECT r.warehouse_type, r.table_name, c.column_name, c.semantic_type, MAX(r.started_at)
FROM run_columns c JOIN runs r ON r.run_id = c.run_id
WHERE r.drill = 0 AND c.semantic_type IS NOT NULL
GROUP BY r.warehouse_type, r.table_name, c.column_name, c.semantic_type;
