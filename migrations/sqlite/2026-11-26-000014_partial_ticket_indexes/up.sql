-- Only tickets that have a parent (an incident's reports) or a type verdict are ever
-- looked up by them (`parent_id = ?`, `parent_id IN (…)`, `type_verdict = ?`), and a new
-- report has neither. As full indexes, each new ticket was an entry in both all the same.
DROP INDEX tickets_parent;
CREATE INDEX tickets_parent ON tickets (parent_id) WHERE parent_id IS NOT NULL;
DROP INDEX tickets_type_verdict;
CREATE INDEX tickets_type_verdict ON tickets (type_verdict, created_at) WHERE type_verdict IS NOT NULL;
