//! This process's turn to write to SQLite.

use std::time::Duration;

use crate::db::error::database_error;

/// SQLite has one writer at a time. Writers of this process take turns on this lock
/// rather than on SQLite's busy handler, which sleeps longer and longer between tries and
/// so turns a queue of short transactions into a long latency tail; a waiter here wakes
/// the moment the lock is free. (Other processes — a CLI sweep beside the server — still
/// meet the busy timeout.) One lock per process: a desk serves one database.
pub(super) static SQLITE_WRITER: parking_lot::Mutex<()> = parking_lot::const_mutex(());

/// How long a writer waits for its turn before the request fails with 503.
const WRITER_WAIT: Duration = Duration::from_secs(10);

/// Take this process's SQLite write turn (`SQLITE_WRITER`) and begin an IMMEDIATE
/// transaction on `c`; the turn is held until the guard drops.
pub(in crate::db) fn begin_sqlite_write(
    c: &mut diesel::SqliteConnection,
) -> Result<parking_lot::MutexGuard<'static, ()>, diesel::result::Error> {
    let turn = SQLITE_WRITER
        .try_lock_for(WRITER_WAIT)
        .ok_or_else(|| database_error("database is locked: no turn to write within 10 s"))?;
    diesel::connection::AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
    Ok(turn)
}
