-- Escalations: the next instant a ticket needs looking at, acknowledgement, each step
-- recorded once; outbox leases and de-duplication.
ALTER TABLE tickets ADD COLUMN next_escalation_at TIMESTAMP;
ALTER TABLE tickets ADD COLUMN acknowledged_at TIMESTAMP;
CREATE INDEX tickets_next_escalation ON tickets (next_escalation_at);

CREATE TABLE ticket_escalations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    step TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    recipients TEXT NOT NULL,
    acknowledged_at TIMESTAMP,
    acknowledged_by TEXT,
    UNIQUE (ticket_id, step)
);

ALTER TABLE outbox ADD COLUMN locked_until TIMESTAMP;
ALTER TABLE outbox ADD COLUMN dedupe_key TEXT;
CREATE INDEX outbox_dedupe ON outbox (recipient, dedupe_key);
