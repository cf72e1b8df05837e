-- The time zone a person reads the desk's times in (an IANA name, e.g. Europe/Berlin);
-- NULL: their browser's, else the support model's.
ALTER TABLE users ADD COLUMN time_zone TEXT;
