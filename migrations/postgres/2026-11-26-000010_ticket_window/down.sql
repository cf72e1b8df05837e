DROP INDEX tickets_created;
CREATE INDEX tickets_created ON tickets (created_at);
