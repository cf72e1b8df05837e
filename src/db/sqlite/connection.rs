//! Opening a SQLite connection the way every connection of the desk is set up.

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::r2d2::Error as PoolError;

/// `journal_size_limit`: the WAL file is cut back to this when it starts over (see
/// `Checkpointer`).
pub(super) const WAL_FILE_LIMIT: u64 = 1024 * 1024 * 1024;

/// Create the folder a database file goes in.
pub(in crate::db) fn create_folder(path: &std::path::Path) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create database folder {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// A SQLite connection set up as every connection of the desk is.
pub(in crate::db) fn open_sqlite(
    path: &std::path::Path,
) -> Result<diesel::SqliteConnection, PoolError> {
    super::plans::enable_plan_stability();
    let path = path.to_string_lossy();
    let mut conn =
        diesel::SqliteConnection::establish(&path).map_err(PoolError::ConnectionError)?;
    // busy_timeout first: the other pragmas may need a lock another connection
    // holds. WAL lets readers run beside the one writer; the pool's checkpointer
    // thread copies the WAL back, so no commit waits for a checkpoint (SQLite's
    // default makes the commit that crosses its autocheckpoint threshold do it, fsync and
    // all, inside someone's request). Reads map the file (the OS page cache, shared by
    // every connection) instead of copying each page through read(2), up to SQLite's
    // ceiling (a smaller map sent the pages of a large database past it through read(2)
    // again); each connection keeps a small cache of hot pages besides. (Under writes
    // SQLite unmaps and maps the file again in each transaction after another
    // connection's commit, which costs report intake some CPU; without the map the queue
    // page and telemetry took much longer.)
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA mmap_size = 2147418112; PRAGMA cache_size = -8000; \
         PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {WAL_FILE_LIMIT};",
    ))
    .map_err(PoolError::QueryError)?;
    Ok(conn)
}
