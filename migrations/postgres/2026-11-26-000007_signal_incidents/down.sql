ALTER TABLE lineage_events DROP COLUMN row_count;
ALTER TABLE runs DROP COLUMN row_count;
DROP INDEX tickets_status_sla;
DROP INDEX tickets_team_status;
DROP INDEX tickets_incident;
DROP TABLE signal_incidents;
