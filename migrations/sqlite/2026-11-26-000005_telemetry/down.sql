DROP INDEX runs_warehouse_started;
DROP TABLE lineage_events;
