-- OpenLineage events as received, one row per run, event type and event time. A run's
-- record is folded from all of its events, so repeated and out-of-order events converge.
CREATE TABLE lineage_events (
    run_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_time TIMESTAMP NOT NULL,
    warehouse_type TEXT,
    table_name TEXT,
    error TEXT,
    -- JSON array of column names from the schema facet; NULL when the event had none.
    schema_fields TEXT,
    -- JSON array of {name, semantic_type, confidence}; NULL when the event had none.
    semantic_types TEXT,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, event_type, event_time)
);

-- The runs pages, /metrics and /telemetry read runs by warehouse type over a time window.
CREATE INDEX runs_warehouse_started ON runs (warehouse_type, started_at);
