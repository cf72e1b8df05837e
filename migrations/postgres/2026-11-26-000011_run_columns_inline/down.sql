DROP VIEW run_columns;
CREATE TABLE run_columns (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    column_name TEXT NOT NULL,
    semantic_type TEXT,
    confidence DOUBLE PRECISION,
    PRIMARY KEY (run_id, column_name)
);
INSERT INTO run_columns (run_id, column_name, semantic_type, confidence)
SELECT r.run_id, c->>'name', c->>'semantic_type', (c->>'confidence')::double precision
FROM runs r, json_array_elements(r.profiled_columns::json) c
WHERE r.profiled_columns IS NOT NULL;
ALTER TABLE runs DROP COLUMN profiled_columns;
