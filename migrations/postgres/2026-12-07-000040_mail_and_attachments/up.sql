-- Files on a ticket: attached on the report form, the tracking page, an agent's comment,
-- the API or an inbound email. The bytes live here (one place to back up; every desk
-- instance on one database serves them); content_type is sniffed from the bytes.
CREATE TABLE attachments (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    -- The timeline entry (report, reply, comment) the file came with, if any.
    event_id BIGINT REFERENCES ticket_events (id) ON DELETE SET NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    -- Shown to the reporter: false for files on internal notes and unverified mail.
    public BOOLEAN NOT NULL,
    added_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    content BYTEA NOT NULL
);
CREATE INDEX attachments_ticket ON attachments (ticket_id, id);

-- Every message the desk received, kept whole (downloadable from its ticket). The key is
-- the Message-ID, or a digest of the message without one: a replayed message is taken once.
CREATE TABLE inbound_mail (
    id BIGSERIAL PRIMARY KEY,
    message_key TEXT NOT NULL UNIQUE,
    -- The From address, lower-case: the per-sender throttle counts these.
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    ticket_id BIGINT REFERENCES tickets (id) ON DELETE SET NULL,
    event_id BIGINT REFERENCES ticket_events (id) ON DELETE SET NULL,
    -- What the desk did with it (domain::inbound::Outcome).
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    raw BYTEA NOT NULL
);
CREATE INDEX inbound_mail_sender ON inbound_mail (sender, received_at);
CREATE INDEX inbound_mail_ticket ON inbound_mail (ticket_id);

-- A delivery report (DSN) for a sent message.
ALTER TABLE outbox ADD COLUMN bounced_at TIMESTAMP;
ALTER TABLE outbox ADD COLUMN bounce_detail TEXT;

-- Addresses that hard-bounced: no more mail goes to them until an agent clears them.
CREATE TABLE mail_suppressions (
    address TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    outbox_id BIGINT REFERENCES outbox (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
