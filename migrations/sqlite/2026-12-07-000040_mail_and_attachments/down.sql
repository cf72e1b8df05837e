DROP TABLE mail_suppressions;
ALTER TABLE outbox DROP COLUMN bounce_detail;
ALTER TABLE outbox DROP COLUMN bounced_at;
DROP TABLE inbound_mail;
DROP TABLE attachments;
