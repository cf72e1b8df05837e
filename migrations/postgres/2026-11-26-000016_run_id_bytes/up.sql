-- Run ids compare as bytes, whatever the database's collation. The run list pages by
-- (started_at, run_id) and merges its per-warehouse walks in the desk by bytes; under a
-- linguistic collation (en-US: 'a' < 'B') the database's "after this run id" disagreed
-- with the desk's and a page boundary could skip or repeat runs that started together.
-- The other run_id columns follow so joins on run ids keep using their indexes.
-- The operators' view over runs (2026-11-26-000011) names run_id: it goes and comes back.
DROP VIEW run_columns;
ALTER TABLE runs ALTER COLUMN run_id TYPE TEXT COLLATE "C";
ALTER TABLE ticket_runs ALTER COLUMN run_id TYPE TEXT COLLATE "C";
ALTER TABLE lineage_events ALTER COLUMN run_id TYPE TEXT COLLATE "C";
CREATE VIEW run_columns AS
SELECT r.run_id AS run_id, c->>'name' AS column_name, c->>'semantic_type' AS semantic_type,
       (c->>'confidence')::double precision AS confidence
FROM runs r, json_array_elements(r.profiled_columns::json) c
WHERE r.profiled_columns IS NOT NULL;
