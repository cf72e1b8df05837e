//! Database access: one binary for SQLite (embedded default) and PostgreSQL, picked by
//! the URL scheme.

pub mod migrate;
pub mod models;
pub mod schema;
mod sqlite_plans;
mod stamp;
mod types;
mod upsert;
mod writer;

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{Error as PoolError, ManageConnection};
use std::path::PathBuf;
use std::time::Duration;

pub use stamp::Stamp;
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
    writer: Option<std::sync::Arc<writer::Writer>>,
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
    _checkpointer: Option<std::sync::Arc<Checkpointer>>,
}

/// A thread that checkpoints a SQLite WAL in the background (PASSIVE: it copies what no
/// reader still needs and never blocks writers), every `CHECKPOINT_EVERY`.
///
/// SQLite starts the WAL over when a writer begins after a checkpoint has copied every
/// frame. Under writes that never pause, a checkpoint never catches up and the WAL grows
/// without end (a seed of a million runs left 38 GB). So once the WAL holds more than
/// `WAL_LIMIT` of frames (counted by the checkpoint, not read off the file's size) the thread
/// runs its PASSIVE checkpoint holding the writers' turn: it copies only what came since
/// the last one and waits for no reader, so writers pause for a moment, and the next one
/// starts the WAL over. (A TRUNCATE checkpoint waits for every reader instead: under load
/// it held writers up to its busy timeout, p99 of report intake 12 → 53 ms.)
///
/// The pause is the tail since the last tick plus the checkpoint's two fsyncs (up to
/// ~15 ms on the benchmark machine), whatever the WAL's size: ticks every 100 ms keep the
/// tail short, and a 256 MB limit makes the pauses rare (at 200 reports/s about one every
/// six seconds; with 64 MB four times as many, and intake p99 at 200/s ~24 ms).
///
/// Starting over writes the file from its beginning again; `journal_size_limit` (1 GB,
/// `WAL_FILE_LIMIT`) cuts it back only past that, so under steady writes the file stays
/// at the largest size a cycle reaches (~400 MB under NDJSON ingest) and its blocks are
/// written over. Cut back to 256 MB after each restart, every cycle allocated its last
/// ~150 MB again and the file system zeroed them: a tenth of the writer's time.
#[derive(Debug)]
struct Checkpointer {
    running: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Joined on drop, so a process that ends leaves its database without a WAL.
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
const WAL_LIMIT: u64 = 256 * 1024 * 1024;
/// `journal_size_limit`: the WAL file is cut back to this when it starts over.
const WAL_FILE_LIMIT: u64 = 1024 * 1024 * 1024;

impl Checkpointer {
    fn start(path: &std::path::Path) -> Result<Checkpointer, String> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
            .map_err(|e| format!("cannot open the checkpointer's connection: {e}"))?;
        // A short wait: a truncation blocks this process's writers while it waits.
        conn.batch_execute("PRAGMA busy_timeout = 250; PRAGMA wal_autocheckpoint = 0;")
            .map_err(|e| format!("cannot set up the checkpointer's connection: {e}"))?;
        let running = std::sync::Arc::new(AtomicBool::new(true));
        let flag = running.clone();
        // A WAL frame: a page and its 24-byte header.
        let frame_bytes = diesel::sql_query("PRAGMA page_size")
            .get_result::<PageSize>(&mut conn)
            .map(|p| p.page_size as u64 + 24)
            .map_err(|e| format!("cannot read the database's page size: {e}"))?;
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while flag.load(Ordering::Relaxed) {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    let frames = match passive_checkpoint(&mut conn) {
                        Ok(frames) => frames,
                        Err(e) => {
                            tracing::warn!(error = %e, "SQLite checkpoint failed");
                            continue;
                        }
                    };
                    // More than the limit means no writer could start the WAL over: catch
                    // up between two writers. (A reader still on old frames can postpone
                    // the restart; the next tick tries again.)
                    if frames * frame_bytes > WAL_LIMIT
                        && let Some(_turn) = SQLITE_WRITER.try_lock_for(CHECKPOINT_EVERY)
                        && let Err(e) = passive_checkpoint(&mut conn)
                    {
                        tracing::warn!(error = %e, "SQLite checkpoint failed");
                    }
                }
                // Last: a full checkpoint, so the file is whole without its WAL.
                let _ = conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);");
            })
            .map_err(|e| format!("cannot start the checkpointer thread: {e}"))?;
        Ok(Checkpointer {
            running,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }
}

#[derive(diesel::QueryableByName)]
struct PageSize {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    page_size: i64,
}

/// Of what `PRAGMA wal_checkpoint` answers (`busy`, `log`, `checkpointed`: whether it
/// was blocked, the frames in the WAL, how many of them it copied back), the frames.
#[derive(diesel::QueryableByName)]
struct CheckpointResult {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    log: i64,
}

/// A PASSIVE checkpoint; the frames the WAL holds (since it last started over). The WAL
/// file's size says nothing about that: `journal_size_limit` keeps the file at its
/// largest, up to the limit, so that its blocks are written over instead of allocated
/// (and zeroed by the file system) again after each restart.
fn passive_checkpoint(conn: &mut diesel::SqliteConnection) -> Result<u64, diesel::result::Error> {
    diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
        .get_result::<CheckpointResult>(conn)
        .map(|r| r.log.max(0) as u64)
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.running
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
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
            DatabaseUrl::Sqlite(path) => open_sqlite(path).map(DbConnection::Sqlite),
            DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(PoolError::ConnectionError),
        }
    }
}

/// A SQLite connection set up as every connection of the desk is.
fn open_sqlite(path: &std::path::Path) -> Result<diesel::SqliteConnection, PoolError> {
    sqlite_plans::enable_plan_stability();
    let path = path.to_string_lossy();
    let mut conn =
        diesel::SqliteConnection::establish(&path).map_err(PoolError::ConnectionError)?;
    // busy_timeout first: the other pragmas may need a lock another connection
    // holds. WAL lets readers run beside the one writer; the pool's checkpointer
    // thread copies the WAL back, so no commit waits for a checkpoint (SQLite's
    // default makes the commit that crosses 1,000 pages do it, fsync and all,
    // inside someone's request). Reads map the file (the OS page cache, shared by
    // every connection) instead of copying each page through read(2), up to SQLite's
    // ceiling of 2 GB (with 1 GB, pages past it in a 1.6 GB database went through
    // read(2) again); each connection keeps 8 MB of hot pages besides. (Under writes
    // SQLite unmaps and maps the file again in each transaction after another
    // connection's commit, ~10% of report intake's CPU; without the map the queue page
    // and telemetry took twice as long.)
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA mmap_size = 2147418112; PRAGMA cache_size = -8000; \
         PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {WAL_FILE_LIMIT};",
    ))
    .map_err(PoolError::QueryError)?;
    Ok(conn)
}

/// Build a pool. SQLite files get their folder created.
pub fn pool(url: &DatabaseUrl, max_size: u32) -> Result<DbPool, String> {
    if let DatabaseUrl::Sqlite(path) = url
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create database folder {}: {e}", dir.display()))?;
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
    let mut writer = None;
    if let DatabaseUrl::Sqlite(path) = url {
        manager._checkpointer = Some(std::sync::Arc::new(Checkpointer::start(path)?));
        writer = Some(std::sync::Arc::new(writer::Writer::start(path.clone())?));
    }
    let inner = r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(POOL_WAIT)
        // r2d2 runs `SELECT 1` on every checkout by default (1-2% of the CPU under load).
        // A SQLite file's connection cannot go stale; a PostgreSQL one can (a restarted
        // server), so that check stays.
        .test_on_check_out(matches!(url, DatabaseUrl::Postgres(_)))
        .build(manager)
        .map_err(|e| format!("cannot build the database pool: {e}"))?;
    Ok(DbPool {
        inner,
        unreachable,
        writer,
    })
}

/// SQLite has one writer at a time. Writers of this process take turns on this lock
/// rather than on SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms between tries and so
/// turns a queue of short transactions into a long latency tail; a waiter here wakes the
/// moment the lock is free. (Other processes — a CLI sweep beside the server — still meet
/// the busy timeout.) One lock per process: a desk serves one database.
static SQLITE_WRITER: parking_lot::Mutex<()> = parking_lot::const_mutex(());

/// How long a writer waits for its turn before the request fails with 503.
const WRITER_WAIT: Duration = Duration::from_secs(10);

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
        DbConnection::Sqlite(c) => Some(begin_sqlite_write(c)?),
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

/// Take this process's SQLite write turn (`SQLITE_WRITER`) and begin an IMMEDIATE
/// transaction on `c`; the turn is held until the guard drops.
fn begin_sqlite_write(
    c: &mut diesel::SqliteConnection,
) -> Result<parking_lot::MutexGuard<'static, ()>, diesel::result::Error> {
    let turn = SQLITE_WRITER
        .try_lock_for(WRITER_WAIT)
        .ok_or_else(|| database_error("database is locked: no turn to write within 10 s"))?;
    diesel::connection::AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
    Ok(turn)
}

/// A database error of the desk's own (no turn, a stopped writer), as diesel reports one.
fn database_error(message: impl Into<String>) -> diesel::result::Error {
    diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::Unknown,
        Box::new(message.into()),
    )
}

/// Run `work` in a write transaction, as `write_transaction` does, but on SQLite grouped
/// with other callers' writes into one commit by the pool's writer thread (see
/// `writer`): for frequent writes (a report, a run, a batch of runs). `work` runs on
/// the writer's connection, all or nothing, and its result comes back once the batch has
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
/// drops its page cache and unmaps the file (see `open_sqlite`), so reads in one
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
/// follows the same rule.) 16 takes a report's timeline (9 to 12 events with its run links
/// and evidence) row by row; it was raised from 8 for SQLite, where compiling that insert
/// anew was 6% of the report writer's time, before SQLite went row by row throughout.
pub const FEW_ROWS: usize = 16;

/// Write `rows` rows one per statement? On PostgreSQL up to `FEW_ROWS` (beyond, the round
/// trips cost more than one multi-row statement); on SQLite always: the statement is a
/// kept one, a call costs no round trip, and a multi-row statement keeps a statement
/// journal besides (a copy of every page it first changes, in case it has to be undone
/// half-way). NDJSON batches of 1,000 runs went ~10% faster row by row.
pub fn row_by_row(conn: &DbConnection, rows: usize) -> bool {
    matches!(conn, DbConnection::Sqlite(_)) || rows <= FEW_ROWS
}

/// Insert a chunk of rows with the caller's local macro `$write!(backend connection,
/// values)` (an insert ending in `.execute(c)?`), on the backend's own connection:
/// multi-row VALUES does not compile through the multi-backend one. Where `row_by_row`
/// says so, the rows go one by one through the single-row statement, prepared once and
/// kept; otherwise they share one multi-row statement. Upserts go through `upsert`
/// instead: diesel prepares its own afresh every time.
macro_rules! per_backend {
    ($conn:expr, $chunk:expr, $write:ident) => {
        if $crate::db::row_by_row(&*$conn, $chunk.len()) {
            for one in $chunk {
                match &mut *$conn {
                    $crate::db::DbConnection::Sqlite(c) => $write!(c, one),
                    $crate::db::DbConnection::Postgres(c) => $write!(c, one),
                };
            }
        } else {
            match &mut *$conn {
                $crate::db::DbConnection::Sqlite(c) => $write!(c, $chunk),
                $crate::db::DbConnection::Postgres(c) => $write!(c, $chunk),
            };
        }
    };
}
pub(crate) use per_backend;

/// Is this error a unique-constraint violation (a duplicate insert)?
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
