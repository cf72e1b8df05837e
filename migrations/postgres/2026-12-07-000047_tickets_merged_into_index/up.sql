-- Every reply and public change mails the reporters of the tickets merged into its ticket
-- (`merged_into IN (…)`): without an index each one read the whole tickets table. Few
-- tickets are ever merged, so only those are entries.
CREATE INDEX tickets_merged_into ON tickets (merged_into) WHERE merged_into IS NOT NULL;
