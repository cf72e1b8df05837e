ALTER TABLE tickets DROP COLUMN submission_fingerprint;
