//! Database access: one binary for SQLite (embedded default) and PostgreSQL, picked by
//! the URL scheme.

mod error;
mod group;
pub mod migrate;
pub mod models;
pub mod schema;
mod sqlite;
mod types;
mod unnest;
mod upsert;
mod worker;

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{Error as PoolError, ManageConnection};
use std::path::PathBuf;
use std::time::Duration;

pub use error::{DbError, DbErrorKind};
pub use group::{GroupWrite, write_in_group};
pub use sqlite::Stamp;
pub use upsert::{UpsertRow, upsert};

/// A connection to either backend. Queries written against it run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
}

/// The backend type queries are built for (both databases behind one type).
pub type Backend = <DbConnection as Connection>::Backend;

pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// The connection pool. `get` waits up to `POOL_WAIT` for a connection when the pool is
/// busy, but gives up within `WAIT_SLICE` once the database refuses new connections (it
/// is stopped or restarting): every request then answers 503 at once instead of each
/// waiting out the full timeout. Everything else is r2d2's pool (`Deref`).
#[derive(Clone)]
pub struct DbPool {
    inner: r2d2::Pool<ConnectionManager>,
    unreachable: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// SQLite: the writer frequent writes are grouped through (`write_grouped`).
    writer: Option<std::sync::Arc<sqlite::Writer>>,
    /// PostgreSQL: the threads writing frequent writes in groups (`write_in_group`).
    groups: Option<std::sync::Arc<group::Groups>>,
}

/// Longest wait for a free connection.
const POOL_WAIT: Duration = Duration::from_secs(5);
/// How often a waiting request looks whether the database has stopped answering.
const WAIT_SLICE: Duration = Duration::from_millis(250);

impl DbPool {
    pub fn get(&self) -> Result<PooledConnection, r2d2::Error> {
        use std::sync::atomic::Ordering;
        let deadline = std::time::Instant::now() + POOL_WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.inner.get_timeout(left.min(WAIT_SLICE)) {
                Ok(conn) => return Ok(conn),
                Err(e) if self.unreachable.load(Ordering::Relaxed) || left <= WAIT_SLICE => {
                    return Err(e);
                }
                // Busy, not down: r2d2 keeps connecting in the background; wait on.
                Err(_) => {}
            }
        }
    }
}

impl std::ops::Deref for DbPool {
    type Target = r2d2::Pool<ConnectionManager>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::fmt::Debug for DbPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbPool")
            .field("state", &self.inner.state())
            .finish()
    }
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// `sqlite://PATH` (relative or absolute) or `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// URL needs a file path, e.g. sqlite://data/desk.db".into());
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        Err("database URL must start with sqlite:// or postgres:// (got another scheme)".into())
    }

    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }
}

/// r2d2 manager that picks the backend by URL scheme. diesel's own MultiConnection
/// `establish` hides the real connection error; this keeps it.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    /// Whether the latest attempt to connect failed (shared with the `DbPool`).
    unreachable: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// SQLite: stops the checkpointer thread when the pool (which owns the manager) goes.
    _checkpointer: Option<std::sync::Arc<sqlite::Checkpointer>>,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = PoolError;

    fn connect(&self) -> Result<DbConnection, PoolError> {
        let connected = self.establish();
        self.unreachable
            .store(connected.is_err(), std::sync::atomic::Ordering::Relaxed);
        connected
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), PoolError> {
        conn.batch_execute("SELECT 1")
            .map_err(PoolError::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

impl ConnectionManager {
    fn establish(&self) -> Result<DbConnection, PoolError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => sqlite::open_sqlite(path).map(DbConnection::Sqlite),
            DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(PoolError::ConnectionError),
        }
    }
}

/// Build a pool. SQLite files get their folder created.
pub fn pool(url: &DatabaseUrl, max_size: u32) -> Result<DbPool, String> {
    if let DatabaseUrl::Sqlite(path) = url {
        sqlite::create_folder(path)?;
    }
    let unreachable = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut manager = ConnectionManager {
        url: url.clone(),
        unreachable: unreachable.clone(),
        _checkpointer: None,
    };
    // Check one connection first so a bad URL fails now with its real message, not after
    // r2d2's connection timeout. It also puts a SQLite file in WAL mode before the
    // checkpointer opens it.
    manager
        .connect()
        .map_err(|e| format!("cannot connect to the {} database: {e}", url.backend()))?;
    let (mut writer, mut groups) = (None, None);
    match url {
        DatabaseUrl::Sqlite(path) => {
            manager._checkpointer = Some(std::sync::Arc::new(sqlite::Checkpointer::start(path)?));
            writer = Some(std::sync::Arc::new(sqlite::Writer::start(path.clone())?));
        }
        DatabaseUrl::Postgres(_) => {
            groups = Some(std::sync::Arc::new(group::Groups::new(manager.clone())));
        }
    }
    let inner = r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(POOL_WAIT)
        // r2d2 runs `SELECT 1` on every checkout by default, a visible share of the CPU
        // under load. A SQLite file's connection cannot go stale; a PostgreSQL one can (a
        // restarted server), so that check stays.
        .test_on_check_out(matches!(url, DatabaseUrl::Postgres(_)))
        .build(manager)
        .map_err(|e| format!("cannot build the database pool: {e}"))?;
    Ok(DbPool {
        inner,
        unreachable,
        writer,
        groups,
    })
}

/// Run `work` in one write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so two
/// writers queue instead of one failing when it upgrades its read lock; writers of this
/// process queue on `SQLITE_WRITER` first. Not re-entrant: `work` must not start another
/// write transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    let _turn = match conn {
        DbConnection::Sqlite(c) => Some(sqlite::begin_sqlite_write(c)?),
        DbConnection::Postgres(_) => {
            Manager::begin_transaction(conn)?;
            None
        }
    };
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            // The original error matters more than a failed rollback; the connection is
            // marked broken by diesel if the rollback fails.
            let _ = Manager::rollback_transaction(conn);
            Err(err)
        }
    }
}

/// Run `work` in a write transaction, as `write_transaction` does, but on SQLite grouped
/// with other callers' writes into one commit by the pool's writer thread (see
/// `sqlite::writer`): for frequent writes (a report, a run, a batch of runs). `work` runs
/// on the writer's connection, all or nothing, and its result comes back once the batch has
/// committed; it may run a second time after a batch-mate failed (its first run rolled
/// back), so it must only write. On PostgreSQL (where writers run side by side) it runs
/// once on `conn`.
pub fn write_grouped<T, E, F>(pool: &DbPool, conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnMut(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<diesel::result::Error> + Send + 'static,
{
    match (&pool.writer, &*conn) {
        (Some(writer), DbConnection::Sqlite(_)) => writer.run(work),
        _ => write_transaction(conn, work),
    }
}

/// Run several reads on one SQLite snapshot (a deferred read transaction); on PostgreSQL
/// they run as they are. Besides being consistent, it is cheaper under writes: each
/// SQLite read transaction that finds another connection's commit since its last one
/// drops its page cache and unmaps the file (see `sqlite::open_sqlite`), so reads in one
/// transaction pay that once instead of once per query.
pub fn read_snapshot<T, E, F>(conn: &mut DbConnection, reads: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(_) => conn.transaction(reads),
        DbConnection::Postgres(_) => reads(conn),
    }
}

/// On PostgreSQL, up to this many rows a multi-row write goes one row per statement
/// instead (on SQLite every one does: `row_by_row`). A single-row statement's SQL is the
/// same every time, so the connection keeps it prepared; a multi-row one is compiled for
/// each row count, which for a handful of rows costs more than the writes. (diesel keeps
/// its single-row inserts prepared, not its upserts: those go through `upsert`, which
/// follows the same rule.) Where a table has one, an `UNNEST` statement (`db::unnest`)
/// avoids the choice: one kept statement for any row count.
pub const FEW_ROWS: usize = 16;

/// Write `rows` rows one per statement? On PostgreSQL up to `FEW_ROWS` (beyond, the round
/// trips cost more than one multi-row statement); on SQLite always: the statement is a
/// kept one, a call costs no round trip, and a multi-row statement keeps a statement
/// journal besides (a copy of every page it first changes, in case it has to be undone
/// half-way); NDJSON batches went faster row by row.
pub fn row_by_row(conn: &DbConnection, rows: usize) -> bool {
    matches!(conn, DbConnection::Sqlite(_)) || rows <= FEW_ROWS
}
