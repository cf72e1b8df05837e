DROP INDEX outbox_dedupe;
CREATE INDEX outbox_dedupe ON outbox (recipient, dedupe_key);
