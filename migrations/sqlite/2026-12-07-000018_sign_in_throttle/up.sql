-- Failed sign-ins per account email and client address (domain::sign_in_throttle): the
-- address that keeps failing waits, not the account, and unknown emails are counted like
-- known ones. `failures` in a row; `locked_until` when the address may try again. Rows
-- without a failure for a day are cleaned up hourly. users.failed_logins and
-- users.locked_until are no longer written; they stay for instances of the release
-- before (expand/contract) and go in a later release.
CREATE TABLE sign_in_throttle (
    email TEXT NOT NULL,
    client TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_failure_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    PRIMARY KEY (email, client)
);
CREATE INDEX sign_in_throttle_last_failure ON sign_in_throttle (last_failure_at);
