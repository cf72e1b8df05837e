-- A run's columns are stored on the run, as a JSON array of {name, semantic_type,
-- confidence} (NULL: the run reported none), instead of a row each in run_columns. They
-- are only ever read whole, for one run; as rows, each column cost an insert into the
-- table and its primary-key index plus a foreign-key lookup: more than half of what
-- storing a batch of runs wrote.
ALTER TABLE runs ADD COLUMN profiled_columns TEXT;
UPDATE runs SET profiled_columns = (
    SELECT json_group_array(json_object(
        'name', c.column_name, 'semantic_type', c.semantic_type, 'confidence', c.confidence))
    FROM run_columns c WHERE c.run_id = runs.run_id)
WHERE run_id IN (SELECT run_id FROM run_columns);
DROP TABLE run_columns;

-- The rows as before, for operators' queries (the runbooks use it): a view, read only.
CREATE VIEW run_columns AS
SELECT r.run_id AS run_id, json_extract(c.value, '$.name') AS column_name,
       json_extract(c.value, '$.semantic_type') AS semantic_type,
       json_extract(c.value, '$.confidence') AS confidence
FROM runs r, json_each(r.profiled_columns) c
WHERE r.profiled_columns IS NOT NULL;
