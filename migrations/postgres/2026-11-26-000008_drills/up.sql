-- Drills: scripted rehearsals on a live desk. Everything a drill creates carries its id in
-- `drill` (0 is real work), so metrics, dashboards, sweeps, rules and mail delivery of
-- the live desk leave it alone and the drill handles its own.
ALTER TABLE tickets ADD COLUMN drill BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN drill BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN drill BIGINT NOT NULL DEFAULT 0;

CREATE TABLE drills (
    id BIGSERIAL PRIMARY KEY,
    scenario TEXT NOT NULL,
    -- running, passed, failed
    status TEXT NOT NULL,
    started_by TEXT NOT NULL,
    -- Comma-separated: where the drill's mail goes instead of its real recipients.
    recipients TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX drills_started ON drills (started_at);

CREATE TABLE drill_steps (
    id BIGSERIAL PRIMARY KEY,
    drill_id BIGINT NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    passed BOOLEAN NOT NULL,
    detail TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    UNIQUE (drill_id, position)
);
