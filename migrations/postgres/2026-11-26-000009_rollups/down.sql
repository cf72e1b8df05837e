DROP INDEX tickets_type_verdict;
DROP TABLE typed_columns;
DROP TABLE table_health;
DROP TABLE run_hours;
