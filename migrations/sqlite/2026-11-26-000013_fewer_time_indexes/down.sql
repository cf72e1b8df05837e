CREATE INDEX tickets_status_due ON tickets (status, first_response_due);
CREATE INDEX tickets_sla ON tickets (sla_due_at, id);
CREATE INDEX runs_started ON runs (started_at);
