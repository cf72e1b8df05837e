-- Only messages with a de-duplication key are ever looked up by (recipient, key): status
-- notices and escalation steps. Report confirmations, team notices and replies have none
-- and are most of the outbox; as entries of this index, each cost an insert at a place
-- its recipient decides (a page of its own, written out again by every commit).
DROP INDEX outbox_dedupe;
CREATE INDEX outbox_dedupe ON outbox (recipient, dedupe_key) WHERE dedupe_key IS NOT NULL;
