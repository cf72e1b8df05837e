DROP INDEX tickets_status_sla;
DROP INDEX tickets_team_status;
DROP INDEX tickets_incident;
DROP TABLE signal_incidents;
