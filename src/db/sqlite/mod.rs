//! What the desk does only on SQLite, and why each part is worth its code. Everything
//! here was added for a measured cause, named below; the figures are in
//! docs/performance.md. PostgreSQL needs none of it: it runs writers side by side and
//! checkpoints on its own.
//!
//! * `connection`: how every SQLite connection is opened. WAL with `synchronous =
//!   NORMAL`, `foreign_keys`, and a `busy_timeout` for writers of other processes (a CLI
//!   sweep beside the server). Automatic checkpoints are off, so no commit pays for one
//!   inside someone's request (report intake p99 under the open-loop benchmark,
//!   `bench/run` `api-open`). Reads go through a memory map of the file up to SQLite's
//!   ceiling (queue and telemetry page latency, `queue-page` and `telemetry-page`, on the
//!   benchmark's seeded database).
//! * `write_lock`: `SQLITE_WRITER`, the process-wide turn to write, taken by
//!   `begin_sqlite_write` before `BEGIN IMMEDIATE`. Writers of one process queue on a lock
//!   that wakes the next one at once, not on SQLite's busy handler, which sleeps between
//!   tries (report intake p99 under the open-loop benchmark, `api-open`).
//! * `writer`: the group-commit writer thread. Reports, single runs and NDJSON batches
//!   run as pieces of one transaction on one warm connection and commit together, so the
//!   pages they share are written once a batch (report intake throughput under the
//!   closed-loop benchmark, `api-closed`, and ingest throughput, `ingest-single` and
//!   `ingest-ndjson`).
//! * `checkpointer`: a thread that copies the WAL back in the background, and once the WAL
//!   passes a bound, holding the write turn so that the next writer starts it over.
//!   Without it the WAL grew without end under continuous writes (seeding the benchmark's
//!   database) and every read paid for it (report intake throughput, `api-closed`); the
//!   bound and the tick trade the pause against its frequency (report intake p99 at a
//!   fixed rate, `api-open`), and the WAL file is written over rather than cut back and
//!   allocated again (NDJSON ingest throughput, `ingest-ndjson`).
//! * `plans`: the query planner stability guarantee, the crate's one `unsafe`. Since
//!   SQLite 3.48 every statement with a bound `LIMIT` was compiled again on each run
//!   (report intake's CPU profile under `api-closed`: run linking spent a large share of
//!   it planning).
//! * `Stamp`: timestamps bound as SQLite's text digit by digit instead of through chrono's
//!   formatter, which parses its format string on every bind (the writer thread's CPU
//!   profile under `ingest-ndjson`).

mod checkpointer;
mod connection;
mod plans;
mod stamp;
mod write_lock;
mod writer;

pub(super) use checkpointer::Checkpointer;
pub(super) use connection::{create_folder, open_sqlite};
pub use stamp::Stamp;
pub(super) use write_lock::begin_sqlite_write;
pub(super) use writer::Writer;
