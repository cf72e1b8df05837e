-- Incidents opened by threshold rules over run records and reports: one row per opening.
-- The partial unique index keeps one open incident per signal, even with several desk
-- instances evaluating at once.
CREATE TABLE signal_incidents (
    id BIGSERIAL PRIMARY KEY,
    signal_key TEXT NOT NULL,
    rule TEXT NOT NULL,
    signal TEXT NOT NULL,
    warehouse_type TEXT NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    opened_at TIMESTAMP NOT NULL,
    last_breach_at TIMESTAMP NOT NULL,
    measurement TEXT NOT NULL,
    -- The first evaluation since the last breach that found the signal below threshold.
    clear_since TIMESTAMP,
    resolved_at TIMESTAMP
);
CREATE UNIQUE INDEX signal_incidents_open ON signal_incidents (signal_key) WHERE resolved_at IS NULL;
CREATE INDEX signal_incidents_ticket ON signal_incidents (ticket_id);
CREATE INDEX tickets_incident ON tickets (is_incident, status);

-- The queue: each status's tickets in SLA order are a short walk of an index (the page
-- merges one walk per status), and the counts per status and SLA state come from index
-- entries alone, with or without a team filter.
CREATE INDEX tickets_team_status ON tickets (team, status, sla_due_at, id, sla_warn_at);
CREATE INDEX tickets_status_sla ON tickets (status, sla_due_at, id, sla_warn_at);

-- Rows the profiler counted (plain ingest `row_count`; OpenLineage `dataQualityMetrics`
-- or `outputStatistics` facets): what a fresh profile changed, for freshness notes.
ALTER TABLE runs ADD COLUMN row_count BIGINT;
ALTER TABLE lineage_events ADD COLUMN row_count BIGINT;
