-- A public reply or resolution mails the reporters of the tickets merged into its ticket,
-- and mail from anyone but a ticket's reporter is checked against them (`merged_into IN
-- (…)`): without an index each read the whole tickets table. Few tickets are ever merged,
-- so only those are entries.
CREATE INDEX tickets_merged_into ON tickets (merged_into) WHERE merged_into IS NOT NULL;
