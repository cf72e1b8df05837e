DROP TABLE outbox;
DROP TABLE ticket_runs;
DROP TABLE run_columns;
DROP TABLE runs;
DROP TABLE ticket_events;
DROP TABLE tickets;
