DROP INDEX outbox_dedupe;
ALTER TABLE outbox DROP COLUMN dedupe_key;
ALTER TABLE outbox DROP COLUMN locked_until;
DROP TABLE ticket_escalations;
DROP INDEX tickets_next_escalation;
ALTER TABLE tickets DROP COLUMN acknowledged_at;
ALTER TABLE tickets DROP COLUMN next_escalation_at;
