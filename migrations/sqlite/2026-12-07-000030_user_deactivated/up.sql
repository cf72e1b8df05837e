-- When an admin deactivated the account; NULL while it is active. A deactivated account
-- cannot sign in, has no sessions and is offered to nobody as an assignee; its tokens and
-- its history stay.
ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMP;
