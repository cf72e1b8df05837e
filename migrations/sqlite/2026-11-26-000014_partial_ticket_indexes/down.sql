DROP INDEX tickets_type_verdict;
CREATE INDEX tickets_type_verdict ON tickets (type_verdict, created_at);
DROP INDEX tickets_parent;
CREATE INDEX tickets_parent ON tickets (parent_id);
