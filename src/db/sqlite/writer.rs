//! SQLite's writer with group commit.
//!
//! SQLite lets one connection write at a time, and every commit writes each page it
//! changed to the WAL. A report touches every index of `tickets`, the timeline, the
//! outbox: dozens of pages of WAL per commit. When each request commits on its
//! own pooled connection, the writers also take turns on `SQLITE_WRITER`, and each turn
//! starts on a connection whose page cache another writer made stale (SQLite drops a
//! connection's cache whenever another one wrote since its last transaction).
//!
//! Frequent writes (a report, a run or a batch of runs) go through here instead: one
//! thread with one connection of its own takes whatever has queued up, runs the pieces
//! one after another in one transaction, commits once and only then answers every caller.
//! Pages shared by the batch (the tail of each index, the timeline, the outbox) are
//! written once per batch; its cache stays warm. A piece that fails gets its error and
//! nothing of it is stored; the others commit. If the commit fails, every caller gets
//! that error and nothing of the batch is stored.
//!
//! Pieces run without savepoints: SQLite copies every page a savepoint first changes
//! into a sub-journal so that it can roll back to it, a measurable share of report
//! intake's throughput.
//! Pieces seldom fail (their input was checked before they were queued), so a failure
//! costs a second pass instead: the transaction is rolled back and the batch runs again,
//! each piece in a savepoint of its own, so that the failing one is rolled back alone.
//! A piece is therefore a closure that may run twice; only what it writes counts.
//!
//! Hand-written rather than a crate: it is a channel and a loop around diesel's
//! transaction manager, and the batching has to hold this process's `SQLITE_WRITER` turn.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc;

use diesel::Connection;
use diesel::connection::TransactionManager;
use diesel::result::Error as DieselError;

use super::write_lock::begin_sqlite_write;
use crate::db::DbConnection;
use crate::db::error::database_error;
use crate::db::worker::Worker;

/// Most pieces in one transaction: enough to share the pages, few enough that the
/// batch's callers do not wait on each other for long.
const MAX_BATCH: usize = 64;

/// One caller's piece of a batch.
trait Job: Send {
    /// Run inside the batch's transaction: straight in it, or in a savepoint of its own
    /// (`savepoint`). Runs again after a rollback; the latest outcome is the answer.
    /// Returns whether it succeeded.
    fn run(&mut self, conn: &mut DbConnection, savepoint: bool) -> bool;
    /// Hand the result back once the batch has committed (or failed to).
    fn finish(self: Box<Self>, committed: Result<(), String>);
}

struct Task<T, E, F> {
    work: F,
    outcome: Option<Result<T, E>>,
    reply: mpsc::SyncSender<Result<T, E>>,
}

impl<T, E, F> Job for Task<T, E, F>
where
    F: FnMut(&mut DbConnection) -> Result<T, E> + Send,
    T: Send,
    E: From<DieselError> + Send,
{
    fn run(&mut self, conn: &mut DbConnection, savepoint: bool) -> bool {
        let outcome = if savepoint {
            // Nested inside the batch's transaction, diesel makes this a savepoint.
            conn.transaction(|conn| (self.work)(conn))
        } else {
            (self.work)(conn)
        };
        let succeeded = outcome.is_ok();
        self.outcome = Some(outcome);
        succeeded
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let result = match (self.outcome, committed) {
            // Its own failure was rolled back to its savepoint; that error is the answer.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)), Err(why)) | (None, Err(why)) => Err(E::from(database_error(why))),
            (None, Ok(())) => Err(E::from(database_error("the write did not run"))),
        };
        // The caller may have gone (a cancelled request); nothing to do then.
        let _ = self.reply.send(result);
    }
}

/// The writer thread and the queue into it. Dropping it lets the thread finish what is
/// queued, close its connection and end.
pub(in crate::db) struct Writer {
    worker: Worker<Box<dyn Job>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

impl Writer {
    pub(in crate::db) fn start(path: PathBuf) -> Result<Writer, String> {
        let conn = open(&path)?;
        let worker = Worker::start("sqlite-writer", move |queue| serve(conn, &path, &queue))
            .map_err(|e| format!("cannot start the SQLite writer thread: {e}"))?;
        Ok(Writer { worker })
    }

    /// Run `work` in the next batch (it may run twice, see the module's notes); blocks
    /// until that batch has committed.
    pub(in crate::db) fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DieselError> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        let task: Box<dyn Job> = Box::new(Task {
            work,
            outcome: None,
            reply,
        });
        if !self.worker.send(task) {
            return Err(E::from(database_error("the SQLite writer has stopped")));
        }
        answer.recv().unwrap_or_else(|_| {
            Err(E::from(database_error(
                "the write failed inside the SQLite writer (see the server log)",
            )))
        })
    }
}

fn open(path: &std::path::Path) -> Result<DbConnection, String> {
    let mut conn = super::connection::open_sqlite(path)
        .map_err(|e| format!("cannot open the SQLite writer's connection: {e}"))?;
    // The only connection most writes go through: a cache big enough for the hot index
    // pages of every table they touch (far larger than a pooled reader's).
    // A savepoint (each piece of a batch run again after a failure) or a multi-row
    // statement inside the transaction makes SQLite copy every page it first changes
    // into a sub-journal, so that it can roll back to it. By default that journal spills
    // to a temporary file once it outgrows a small buffer: NDJSON batches of runs spent
    // much of the writer's time writing it. In memory it is as large as the pages one
    // piece changes, freed at the commit.
    diesel::connection::SimpleConnection::batch_execute(
        &mut conn,
        "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
    )
    .map_err(|e| format!("cannot set up the SQLite writer's connection: {e}"))?;
    Ok(DbConnection::Sqlite(conn))
}

fn serve(mut conn: DbConnection, path: &std::path::Path, queue: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        match catch_unwind(AssertUnwindSafe(|| run_batch(&mut conn, &mut batch))) {
            Ok(committed) => {
                tracing::trace!(
                    pieces = batch.len(),
                    ms = started.elapsed().as_secs_f64() * 1000.0,
                    committed = committed.is_ok(),
                    "SQLite writer batch"
                );
                for job in batch {
                    job.finish(committed.clone());
                }
            }
            Err(_) => {
                // A piece panicked mid-transaction. Closing the connection rolls the
                // batch back; every caller hears of it and a fresh connection goes on.
                tracing::error!(
                    pieces = batch.len(),
                    "a write panicked in the SQLite writer; its batch was rolled back"
                );
                for job in batch {
                    job.finish(Err("the batch of writes was rolled back".into()));
                }
                match open(path) {
                    Ok(fresh) => conn = fresh,
                    Err(e) => {
                        tracing::error!(error = %e, "the SQLite writer stops");
                        return;
                    }
                }
            }
        }
    }
}

/// The writer's transaction manager (diesel's, through the multi-backend connection).
type Manager = <DbConnection as Connection>::TransactionManager;

fn run_batch(conn: &mut DbConnection, batch: &mut [Box<dyn Job>]) -> Result<(), String> {
    let _turn = begin_sqlite_write(sqlite(conn)?).map_err(|e| e.to_string())?;
    // Every piece straight in the transaction, up to the first that fails.
    if batch.iter_mut().all(|job| job.run(conn, false)) {
        return commit(conn);
    }
    Manager::rollback_transaction(conn).map_err(|e| e.to_string())?;
    if batch.len() == 1 {
        // Its error is its answer; nothing of it is kept.
        return Ok(());
    }
    // Again, each piece in a savepoint: the failing one is rolled back alone. The turn is
    // still held, so nothing else wrote in between.
    diesel::connection::AnsiTransactionManager::begin_transaction_sql(
        sqlite(conn)?,
        "BEGIN IMMEDIATE",
    )
    .map_err(|e| e.to_string())?;
    for job in batch.iter_mut() {
        job.run(conn, true);
    }
    commit(conn)
}

fn sqlite(conn: &mut DbConnection) -> Result<&mut diesel::SqliteConnection, String> {
    match conn {
        DbConnection::Sqlite(sqlite) => Ok(sqlite),
        DbConnection::Postgres(_) => {
            Err("the SQLite writer holds a connection to another database".into())
        }
    }
}

fn commit(conn: &mut DbConnection) -> Result<(), String> {
    Manager::commit_transaction(conn).map_err(|e| {
        let _ = Manager::rollback_transaction(conn);
        e.to_string()
    })
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use crate::db::{DatabaseUrl, DbConnection, DbPool, pool, write_grouped};

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn count(conn: &mut DbConnection, sql: &str) -> i64 {
        diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
    }

    /// A pool (with its writer) on a new SQLite file set up by `sql`; the folder lives as
    /// long as the returned guard.
    fn scratch(connections: u32, sql: &str) -> (tempfile::TempDir, DbPool) {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&DatabaseUrl::Sqlite(dir.path().join("w.db")), connections).unwrap();
        pool.get().unwrap().batch_execute(sql).unwrap();
        (dir, pool)
    }

    /// Many callers at once: each one's rows are stored whole or not at all, a failing
    /// piece takes nothing of its batch-mates down, and every caller hears its own result
    /// only once its batch has committed (its rows are then visible to other connections).
    #[test]
    fn grouped_writes_commit_together_and_fail_alone() {
        let (_dir, pool) = scratch(
            8,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, caller INTEGER NOT NULL)",
        );
        let threads: Vec<_> = (0..32i64)
            .map(|caller| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut conn = pool.get().unwrap();
                    let result = write_grouped(&pool, &mut conn, move |c| {
                        for _ in 0..3 {
                            diesel::sql_query("INSERT INTO t (caller) VALUES (?)")
                                .bind::<BigInt, _>(caller)
                                .execute(c)?;
                        }
                        if caller % 4 == 0 {
                            // Half-way through its rows, this caller fails.
                            diesel::sql_query("INSERT INTO t (id, caller) VALUES (1, 0)")
                                .execute(c)?;
                        }
                        Ok::<_, diesel::result::Error>(caller)
                    });
                    let seen = count(
                        &mut conn,
                        &format!("SELECT COUNT(*) AS n FROM t WHERE caller = {caller}"),
                    );
                    (caller, result.is_ok(), seen)
                })
            })
            .collect();
        for thread in threads {
            let (caller, ok, seen) = thread.join().unwrap();
            assert_eq!(ok, caller % 4 != 0, "caller {caller}");
            assert_eq!(seen, if ok { 3 } else { 0 }, "caller {caller}'s rows");
        }
        let mut conn = pool.get().unwrap();
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM t"), 24 * 3);
    }

    /// Pieces run straight in the transaction; when one fails, the batch is rolled back
    /// and runs again with a savepoint per piece: the others' rows are stored once, the
    /// failing one's not at all, each caller gets its own answer. A batch where nothing
    /// fails runs each piece once.
    #[test]
    fn a_failing_piece_makes_its_batch_run_again_in_savepoints() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        use super::{Job, Task, run_batch};

        let (dir, _pool) = scratch(
            1,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, caller INTEGER NOT NULL); \
             INSERT INTO t VALUES (1, 0)",
        );
        let mut conn = super::open(&dir.path().join("w.db")).unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        type Answer = mpsc::Receiver<QueryResult<i64>>;
        let piece = |caller: i64, fails: bool| -> (Box<dyn Job>, Answer) {
            let (reply, answer) = mpsc::sync_channel(1);
            let runs = runs.clone();
            let work = move |c: &mut DbConnection| -> QueryResult<i64> {
                runs.fetch_add(1, Ordering::SeqCst);
                for _ in 0..2 {
                    diesel::sql_query("INSERT INTO t (caller) VALUES (?)")
                        .bind::<BigInt, _>(caller)
                        .execute(c)?;
                }
                if fails {
                    diesel::sql_query("INSERT INTO t (id, caller) VALUES (1, 0)").execute(c)?;
                }
                Ok(caller)
            };
            let task = Task {
                work,
                outcome: None,
                reply,
            };
            (Box::new(task), answer)
        };
        let mut run = |pieces: Vec<(Box<dyn Job>, Answer)>| -> Vec<QueryResult<i64>> {
            let (mut batch, answers): (Vec<_>, Vec<_>) = pieces.into_iter().unzip();
            let committed = run_batch(&mut conn, &mut batch);
            for job in batch {
                job.finish(committed.clone());
            }
            answers.into_iter().map(|a| a.recv().unwrap()).collect()
        };

        let answers = run(vec![piece(10, false), piece(11, false)]);
        assert!(matches!(answers[..], [Ok(10), Ok(11)]), "{answers:?}");
        assert_eq!(runs.swap(0, Ordering::SeqCst), 2, "no failure, one pass");

        let answers = run(vec![piece(20, false), piece(21, true), piece(22, false)]);
        assert!(matches!(answers[0], Ok(20)), "{answers:?}");
        assert!(
            matches!(
                answers[1],
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _
                ))
            ),
            "{answers:?}"
        );
        assert!(matches!(answers[2], Ok(22)), "{answers:?}");
        // Up to the failing piece, then all three again.
        assert_eq!(runs.load(Ordering::SeqCst), 2 + 3);
        for (caller, rows) in [(10, 2), (11, 2), (20, 2), (21, 0), (22, 2)] {
            let sql = format!("SELECT COUNT(*) AS n FROM t WHERE caller = {caller}");
            assert_eq!(count(&mut conn, &sql), rows, "caller {caller}");
        }
    }

    /// A piece that is its whole batch runs without a savepoint: when it fails half-way,
    /// its caller gets its own error, none of its rows stay, and the next write commits.
    #[test]
    fn a_lone_failing_write_leaves_nothing() {
        let (_dir, pool) = scratch(
            2,
            "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)",
        );
        let mut conn = pool.get().unwrap();
        // One caller at a time: each write is a batch of its own.
        let failed = write_grouped(&pool, &mut conn, |c| {
            diesel::sql_query("INSERT INTO t (id) VALUES (2)").execute(c)?;
            diesel::sql_query("INSERT INTO t (id) VALUES (1)").execute(c)
        });
        assert!(
            matches!(
                failed,
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _
                ))
            ),
            "{failed:?}"
        );
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM t"), 1);
        write_grouped(&pool, &mut conn, |c| {
            diesel::sql_query("INSERT INTO t (id) VALUES (3)").execute(c)
        })
        .unwrap();
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM t"), 2);
        assert_eq!(count(&mut conn, "SELECT MAX(id) AS n FROM t"), 3);
    }

    /// A panic inside a piece fails its batch, and the writer goes on with a new
    /// connection for the next callers.
    #[test]
    fn a_panicking_write_does_not_stop_the_writer() {
        let (_dir, pool) = scratch(2, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
        let mut conn = pool.get().unwrap();
        let panicked = write_grouped(&pool, &mut conn, |c| -> QueryResult<()> {
            diesel::sql_query("INSERT INTO t (id) VALUES (7)").execute(c)?;
            panic!("a bug in a write");
        });
        assert!(panicked.is_err());
        write_grouped(&pool, &mut conn, |c| {
            diesel::sql_query("INSERT INTO t (id) VALUES (8)").execute(c)
        })
        .unwrap();
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM t"), 1);
        assert_eq!(count(&mut conn, "SELECT id AS n FROM t"), 8);
    }
}
