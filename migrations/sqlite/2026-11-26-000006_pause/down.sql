ALTER TABLE tickets DROP COLUMN paused_at;
