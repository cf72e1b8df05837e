DROP VIEW run_columns;
ALTER TABLE lineage_events ALTER COLUMN run_id TYPE TEXT COLLATE "default";
ALTER TABLE ticket_runs ALTER COLUMN run_id TYPE TEXT COLLATE "default";
ALTER TABLE runs ALTER COLUMN run_id TYPE TEXT COLLATE "default";
CREATE VIEW run_columns AS
SELECT r.run_id AS run_id, c->>'name' AS column_name, c->>'semantic_type' AS semantic_type,
       (c->>'confidence')::double precision AS confidence
FROM runs r, json_array_elements(r.profiled_columns::json) c
WHERE r.profiled_columns IS NOT NULL;
