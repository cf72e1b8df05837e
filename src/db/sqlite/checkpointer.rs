//! The thread that copies a SQLite WAL back into the database file.

use std::time::Duration;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::write_lock::SQLITE_WRITER;

/// A thread that checkpoints a SQLite WAL in the background (PASSIVE: it copies what no
/// reader still needs and never blocks writers), every `CHECKPOINT_EVERY`.
///
/// SQLite starts the WAL over when a writer begins after a checkpoint has copied every
/// frame. Under writes that never pause, a checkpoint never catches up and the WAL grows
/// without end (it did while the benchmark's database was seeded). So once the WAL holds
/// more than `WAL_LIMIT` of frames (counted by the checkpoint, not read off the file's
/// size) the thread runs its PASSIVE checkpoint holding the writers' turn: it copies only
/// what came since the last one and waits for no reader, so writers pause for a moment,
/// and the next one starts the WAL over. (A TRUNCATE checkpoint waits for every reader
/// instead: under load it held writers up to its busy timeout, and report intake's p99
/// rose several times over.)
///
/// The pause is the tail since the last tick plus the checkpoint's two fsyncs. SQLite
/// flushes the database file only after a checkpoint that copied every frame, and under
/// steady writes only the one holding the turn does: left to it, that flush wrote out
/// every page the checkpoints had copied since the WAL last started over, and the writers
/// waited for all of it. So the thread flushes the database file itself after each tick's
/// checkpoint, beside the writers (only checkpoints write that file; writers append to the
/// WAL), and the flush under the turn writes only the last tick's pages. Frequent ticks
/// keep that short, and a large limit makes the pauses rare (a smaller one paused writers
/// more often and raised intake's p99 at a fixed rate).
///
/// Starting over writes the file from its beginning again; `journal_size_limit`
/// (`WAL_FILE_LIMIT`) cuts it back only past that, so under steady writes the file stays
/// at the largest size a cycle reaches and its blocks are written over. Cut back to
/// `WAL_LIMIT` after each restart, every cycle allocated its last blocks again and the
/// file system zeroed them, a noticeable share of the writer's time.
#[derive(Debug)]
pub(in crate::db) struct Checkpointer {
    running: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Joined on drop, so a process that ends leaves its database without a WAL.
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
const WAL_LIMIT: u64 = 256 * 1024 * 1024;

impl Checkpointer {
    pub(in crate::db) fn start(path: &std::path::Path) -> Result<Checkpointer, String> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
            .map_err(|e| format!("cannot open the checkpointer's connection: {e}"))?;
        // A short wait: a truncation blocks this process's writers while it waits.
        conn.batch_execute("PRAGMA busy_timeout = 250; PRAGMA wal_autocheckpoint = 0;")
            .map_err(|e| format!("cannot set up the checkpointer's connection: {e}"))?;
        // The database file itself, to flush what each checkpoint copied into it (see
        // the type's notes).
        let database = std::fs::File::open(path)
            .map_err(|e| format!("cannot open the SQLite database file to flush it: {e}"))?;
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
                    // Parked, not asleep: dropping the checkpointer wakes it at once, so
                    // a short-lived process (`mail receive`, once per message) does not
                    // wait out a tick before it may exit.
                    std::thread::park_timeout(CHECKPOINT_EVERY);
                    if !flag.load(Ordering::Relaxed) {
                        break;
                    }
                    let started = std::time::Instant::now();
                    let frames = match passive_checkpoint(&mut conn) {
                        Ok(frames) => frames,
                        Err(e) => {
                            tracing::warn!(error = %e, "SQLite checkpoint failed");
                            continue;
                        }
                    };
                    // What this checkpoint copied goes to disk now, beside the writers.
                    if let Err(e) = database.sync_data() {
                        tracing::warn!(error = %e, "cannot flush the SQLite database file");
                    }
                    tracing::trace!(
                        frames,
                        ms = started.elapsed().as_secs_f64() * 1000.0,
                        "SQLite checkpoint"
                    );
                    // More than the limit means no writer could start the WAL over: catch
                    // up between two writers. (A reader still on old frames can postpone
                    // the restart; the next tick tries again.)
                    if frames * frame_bytes > WAL_LIMIT
                        && let Some(_turn) = SQLITE_WRITER.try_lock_for(CHECKPOINT_EVERY)
                    {
                        let started = std::time::Instant::now();
                        if let Err(e) = passive_checkpoint(&mut conn) {
                            tracing::warn!(error = %e, "SQLite checkpoint failed");
                        }
                        tracing::debug!(
                            frames,
                            ms = started.elapsed().as_secs_f64() * 1000.0,
                            "SQLite checkpoint holding the writers' turn, to start the WAL over"
                        );
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
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}
