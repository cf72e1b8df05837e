ALTER TABLE users DROP COLUMN deactivated_at;
