-- What a submission key was first sent with: a SHA-256 over the requester (token, account,
-- or reporter email and client address) and the report as received. A repeat of the key
-- returns the ticket only with the same fingerprint. Nullable, so instances that predate
-- it keep writing tickets during a rolling upgrade (their keyed tickets match no one).
ALTER TABLE tickets ADD COLUMN submission_fingerprint TEXT;
