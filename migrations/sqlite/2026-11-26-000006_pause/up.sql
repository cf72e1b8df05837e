-- When the clocks stopped (waiting on the reporter); the paused business time is added
-- back to the due times when work resumes.
ALTER TABLE tickets ADD COLUMN paused_at TIMESTAMP;
