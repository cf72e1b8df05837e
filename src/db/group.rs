//! PostgreSQL: many callers' writes of one kind in one transaction and one statement per
//! table.
//!
//! On PostgreSQL every statement costs the server a parse-bind-execute cycle (the
//! executor's set-up, locks, trigger queues) and a round trip, whatever the number of rows
//! it writes, and every commit a WAL flush. A report is a handful of statements; written
//! one report per transaction, the server's per-statement work is most of what intake
//! costs. Frequent writes of one kind (`GroupWrite`: reports) go through a thread of
//! their own here instead: it takes whatever has queued up and writes it all at once, one
//! statement per table for the whole group (`GroupWrite::write` takes a slice), then
//! answers every caller once the group has committed.
//!
//! If the group's transaction fails, it is rolled back and each caller's item is written
//! again in a transaction of its own, so that only the failing one gets the error (a
//! race on a unique key, say). `GroupWrite::write` therefore only writes: it may run
//! twice for an item, and only the committed run counts.
//!
//! On SQLite the pool's writer already groups commits (`sqlite::writer`); there an item
//! is written alone, as one piece of the writer's batch.
//!
//! Hand-written rather than a crate: a channel and a loop around diesel's transactions,
//! like the SQLite writer.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};

use diesel::connection::SimpleConnection;
use diesel::result::Error as DieselError;

use super::error::database_error;
use super::worker::Worker;
use super::{ConnectionManager, DbConnection, DbPool, write_transaction};

/// Most items in one group: enough to share the statements, few enough that no caller
/// waits long behind the others.
const MAX_GROUP: usize = 64;

/// A kind of write that can be done for many callers at once.
pub trait GroupWrite: 'static {
    type Item: Send + 'static;
    type Answer: Send + 'static;
    type Error: From<DieselError> + Send + 'static;
    /// The thread's name, for the server's thread list and the logs.
    const NAME: &'static str;
    /// Write every item inside the open transaction and answer each, in order. An error
    /// fails the whole group (it is then written again, item by item).
    fn write(
        conn: &mut DbConnection,
        items: &[Self::Item],
    ) -> Result<Vec<Self::Answer>, Self::Error>;
}

/// Write `item` with other callers' items of the same kind (PostgreSQL), or as one piece
/// of the SQLite writer's next batch; blocks until it has committed.
pub fn write_in_group<K: GroupWrite>(
    pool: &DbPool,
    conn: &mut DbConnection,
    item: K::Item,
) -> Result<K::Answer, K::Error> {
    if let (Some(groups), DbConnection::Postgres(_)) = (&pool.groups, &*conn) {
        return groups.writer::<K>().run(item);
    }
    super::write_grouped(pool, conn, move |conn| {
        let answers = K::write(conn, std::slice::from_ref(&item))?;
        answers
            .into_iter()
            .next()
            .ok_or_else(|| K::Error::from(database_error("a group write gave no answer")))
    })
}

/// The group writers of one pool, one per kind, started when first used.
pub(super) struct Groups {
    connections: r2d2::Pool<ConnectionManager>,
    writers: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Groups {
    /// The group writers' own connections, one each: a caller holds one of the main
    /// pool's while it waits for its group, so sharing that pool could leave the writers
    /// none. (r2d2 for its check on checkout: a writer reconnects after a restart.)
    pub(super) fn new(manager: ConnectionManager) -> Groups {
        let connections = r2d2::Pool::builder()
            .max_size(1)
            .min_idle(Some(0))
            .connection_timeout(super::POOL_WAIT)
            .build_unchecked(manager);
        Groups {
            connections,
            writers: Mutex::new(HashMap::new()),
        }
    }

    fn writer<K: GroupWrite>(&self) -> Arc<Writer<K>> {
        let mut writers = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        let writer = writers
            .entry(TypeId::of::<K>())
            .or_insert_with(|| Arc::new(Writer::<K>::start(self.connections.clone())));
        Arc::clone(writer)
            .downcast::<Writer<K>>()
            .expect("one writer type per kind")
    }
}

type Reply<K> = mpsc::SyncSender<Result<<K as GroupWrite>::Answer, <K as GroupWrite>::Error>>;
/// A caller's item and where its answer goes.
type Queued<K> = (<K as GroupWrite>::Item, Reply<K>);

/// One kind's thread and the queue into it. One thread: while it writes a group, the
/// next gathers in the queue, so a group holds whatever arrived meanwhile (two threads
/// measured slower: each wrote groups half the size; docs/performance.md). Dropping it
/// lets the thread finish what is queued and end. `None`: the thread could not start,
/// and every caller hears so.
struct Writer<K: GroupWrite> {
    worker: Option<Worker<Queued<K>>>,
}

impl<K: GroupWrite> Writer<K> {
    fn start(connections: r2d2::Pool<ConnectionManager>) -> Writer<K> {
        let worker = Worker::start(K::NAME, move |queue| serve::<K>(&connections, &queue))
            .map_err(|e| tracing::error!(error = %e, "cannot start a group writer thread"))
            .ok();
        Writer { worker }
    }

    fn run(&self, item: K::Item) -> Result<K::Answer, K::Error> {
        let (reply, answer) = mpsc::sync_channel(1);
        let sent = self
            .worker
            .as_ref()
            .is_some_and(|worker| worker.send((item, reply)));
        if !sent {
            return Err(database_error("the group writer has stopped").into());
        }
        answer.recv().unwrap_or_else(|_| {
            Err(
                database_error("the write failed inside the group writer (see the server log)")
                    .into(),
            )
        })
    }
}

/// Take the next group off the queue: wait for one item, then whatever else has queued.
fn next_group<K: GroupWrite>(queue: &mpsc::Receiver<Queued<K>>) -> Option<Vec<Queued<K>>> {
    let mut group = vec![queue.recv().ok()?];
    while group.len() < MAX_GROUP {
        match queue.try_recv() {
            Ok(queued) => group.push(queued),
            Err(_) => break,
        }
    }
    Some(group)
}

fn serve<K: GroupWrite>(
    connections: &r2d2::Pool<ConnectionManager>,
    queue: &mpsc::Receiver<Queued<K>>,
) {
    while let Some(group) = next_group::<K>(queue) {
        let (items, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        let started = std::time::Instant::now();
        let answers = match catch_unwind(AssertUnwindSafe(|| write_group::<K>(connections, &items)))
        {
            Ok(answers) => answers,
            Err(_) => {
                // A write panicked mid-transaction: the pooled connection it held was
                // dropped with it, which rolled the transaction back.
                tracing::error!(
                    items = items.len(),
                    kind = K::NAME,
                    "a group write panicked; its transaction was rolled back"
                );
                items
                    .iter()
                    .map(|_| Err(database_error("the group of writes was rolled back").into()))
                    .collect()
            }
        };
        tracing::trace!(
            items = items.len(),
            kind = K::NAME,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "group write"
        );
        for (reply, answer) in replies.into_iter().zip(answers) {
            // The caller may have gone (a cancelled request); nothing to do then.
            let _ = reply.send(answer);
        }
    }
}

/// Write `items` in one transaction; if that fails, each in a transaction of its own.
/// One answer per item, in order.
fn write_group<K: GroupWrite>(
    connections: &r2d2::Pool<ConnectionManager>,
    items: &[K::Item],
) -> Vec<Result<K::Answer, K::Error>> {
    let mut conn = match connections.get() {
        Ok(conn) => conn,
        Err(e) => {
            let why = format!("no connection for the group writer: {e}");
            return items
                .iter()
                .map(|_| Err(database_error(why.clone()).into()))
                .collect();
        }
    };
    let together = write_transaction(&mut conn, |conn| {
        let answers = K::write(conn, items)?;
        if answers.len() == items.len() {
            Ok(answers)
        } else {
            Err(database_error("a group write gave the wrong number of answers").into())
        }
    });
    match together {
        Ok(answers) => answers.into_iter().map(Ok).collect(),
        Err(e) if items.len() == 1 => vec![Err(e)],
        // The connection is gone (the server stopped or is restarting): writing each item
        // again on it would only meet its broken state. Every caller hears the connection
        // was lost, which answers as the database being unavailable.
        Err(_) if conn.batch_execute("SELECT 1").is_err() => items
            .iter()
            .map(|_| Err(database_error("lost the connection to the database mid-write").into()))
            .collect(),
        Err(_) => items
            .iter()
            .map(|item| {
                write_transaction(&mut conn, |conn| {
                    let mut answers = K::write(conn, std::slice::from_ref(item))?;
                    answers
                        .pop()
                        .ok_or_else(|| database_error("a group write gave no answer").into())
                })
            })
            .collect(),
    }
}
