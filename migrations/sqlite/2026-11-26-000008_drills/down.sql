DROP TABLE drill_steps;
DROP TABLE drills;
ALTER TABLE outbox DROP COLUMN drill;
ALTER TABLE runs DROP COLUMN drill;
ALTER TABLE tickets DROP COLUMN drill;
