-- Tickets, their timelines, run records and links, and the email outbox.
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tracking_token TEXT NOT NULL UNIQUE,
    submission_key TEXT UNIQUE,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    category TEXT NOT NULL,
    confidence DOUBLE NOT NULL,
    classification_reasons TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_reasons TEXT NOT NULL,
    team TEXT NOT NULL,
    routing_rule TEXT NOT NULL,
    routing_reason TEXT NOT NULL,
    reporter_name TEXT,
    reporter_email TEXT NOT NULL,
    warehouse_type TEXT,
    table_name TEXT,
    column_name TEXT,
    detected_type TEXT,
    expected_type TEXT,
    run_ref TEXT,
    impact TEXT,
    description TEXT NOT NULL,
    first_response_due TIMESTAMP NOT NULL,
    resolution_due TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
-- Ticket numbers start at INS-1001.
INSERT INTO sqlite_sequence (name, seq) VALUES ('tickets', 1000);
CREATE INDEX tickets_status_due ON tickets (status, first_response_due);
CREATE INDEX tickets_table ON tickets (table_name, warehouse_type);
CREATE INDEX tickets_created ON tickets (created_at);

CREATE TABLE ticket_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    public BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

CREATE TABLE runs (
    run_id TEXT PRIMARY KEY NOT NULL,
    warehouse_type TEXT NOT NULL,
    table_name TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    duration_ms BIGINT,
    error TEXT,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX runs_table_started ON runs (table_name, warehouse_type, started_at);
CREATE INDEX runs_started ON runs (started_at);

CREATE TABLE run_columns (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    column_name TEXT NOT NULL,
    semantic_type TEXT,
    confidence DOUBLE,
    PRIMARY KEY (run_id, column_name)
);

-- run_id is not a foreign key: a reporter may name a run the desk has not received yet.
CREATE TABLE ticket_runs (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    run_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    -- Order of the links as planned: the reporter's run first, then newest to oldest.
    position INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (ticket_id, run_id)
);
CREATE INDEX ticket_runs_run ON ticket_runs (run_id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT REFERENCES tickets (id) ON DELETE SET NULL,
    template TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    in_reply_to TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
