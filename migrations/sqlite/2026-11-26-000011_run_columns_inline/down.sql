DROP VIEW run_columns;
CREATE TABLE run_columns (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    column_name TEXT NOT NULL,
    semantic_type TEXT,
    confidence DOUBLE,
    PRIMARY KEY (run_id, column_name)
);
INSERT INTO run_columns (run_id, column_name, semantic_type, confidence)
SELECT r.run_id, json_extract(c.value, '$.name'), json_extract(c.value, '$.semantic_type'),
       json_extract(c.value, '$.confidence')
FROM runs r, json_each(r.profiled_columns) c
WHERE r.profiled_columns IS NOT NULL;
ALTER TABLE runs DROP COLUMN profiled_columns;
