-- Triage: assignment, incidents and merges, agent verdicts, the next SLA instant for the
-- queue's sort, versions on timeline events, saved queue views.
ALTER TABLE tickets ADD COLUMN assignee_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE tickets ADD COLUMN parent_id BIGINT REFERENCES tickets (id) ON DELETE SET NULL;
ALTER TABLE tickets ADD COLUMN is_incident BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tickets ADD COLUMN merged_into BIGINT REFERENCES tickets (id) ON DELETE SET NULL;
ALTER TABLE tickets ADD COLUMN type_verdict TEXT;
ALTER TABLE tickets ADD COLUMN reclassified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tickets ADD COLUMN first_responded_at TIMESTAMP;
-- The next SLA deadline (first response, then resolution) and its 75% warning point.
ALTER TABLE tickets ADD COLUMN sla_due_at TIMESTAMP NOT NULL DEFAULT '2000-01-01 00:00:00';
ALTER TABLE tickets ADD COLUMN sla_warn_at TIMESTAMP NOT NULL DEFAULT '2000-01-01 00:00:00';
UPDATE tickets SET sla_due_at = first_response_due, sla_warn_at = first_response_due;
CREATE INDEX tickets_sla ON tickets (sla_due_at, id);
CREATE INDEX tickets_parent ON tickets (parent_id);
CREATE INDEX tickets_assignee ON tickets (assignee_id, status);
CREATE INDEX tickets_reporter ON tickets (reporter_email);

ALTER TABLE ticket_events ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE saved_views (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    team TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX saved_views_user ON saved_views (user_id);
