-- A run's columns are stored on the run, as a JSON array of {name, semantic_type,
-- confidence} (NULL: the run reported none), instead of a row each in run_columns. They
-- are only ever read whole, for one run; as rows, each column cost an insert into the
-- table and its primary-key index plus a foreign-key lookup: more than half of what
-- storing a batch of runs wrote.
ALTER TABLE runs ADD COLUMN profiled_columns TEXT;
UPDATE runs r SET profiled_columns = c.list
FROM (
    SELECT run_id, json_agg(json_build_object(
        'name', column_name, 'semantic_type', semantic_type, 'confidence', confidence)
        ORDER BY column_name)::text AS list
    FROM run_columns GROUP BY run_id
) c
WHERE c.run_id = r.run_id;
DROP TABLE run_columns;

-- The rows as before, for operators' queries (the runbooks use it): a view, read only.
CREATE VIEW run_columns AS
SELECT r.run_id AS run_id, c->>'name' AS column_name, c->>'semantic_type' AS semantic_type,
       (c->>'confidence')::double precision AS confidence
FROM runs r, json_array_elements(r.profiled_columns::json) c
WHERE r.profiled_columns IS NOT NULL;
