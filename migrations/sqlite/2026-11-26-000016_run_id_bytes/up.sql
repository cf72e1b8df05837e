-- Nothing to do on SQLite: text compares as bytes (BINARY) unless a column says otherwise.
-- The PostgreSQL twin gives run ids the "C" collation.
SELECT 1;
