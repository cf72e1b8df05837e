//! The hand-off from ingest to the work that follows it: freshness checks for successful
//! runs, and the threshold rules of the warehouse types touched. The request that stored
//! the runs or filed the report hands them over here and answers; the workers that take
//! them are started and owned by `jobs::after_ingest`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use crate::domain::run::RunStatus;
use crate::domain::run_record::RunRecord;
use crate::domain::warehouse::WarehouseType;

/// One hand-off: what to look at, and whom to tell once it is done (when the sender
/// waits for it).
pub struct Work<T> {
    pub items: T,
    pub done: Option<SyncSender<()>>,
}

impl<T> Work<T> {
    /// Tell the sender (if it waits) that this work is done.
    pub fn finish(self) {
        if let Some(done) = self.done {
            let _ = done.send(());
        }
    }
}

/// The sending side. `AfterIngest::default()` hands nothing over (CLI verbs, drills and
/// the workers' own desk).
#[derive(Clone, Default)]
pub struct AfterIngest {
    freshness: Option<SyncSender<Work<Vec<RunRecord>>>>,
    rules: Option<SyncSender<Work<Vec<WarehouseType>>>>,
    /// Wait for each hand-off to be done before returning (no debounce configured): the
    /// request answers after its follow-up work, as tests and drills of timing need.
    wait: bool,
    /// Warehouse types whose rules are already due to run: hand-offs of them are not
    /// sent, since that run reads everything committed before it.
    due: Arc<DueTypes>,
}

/// Per warehouse type, whether its threshold rules are already due to run again (the
/// rules worker sets it when a type starts waiting for the end of its interval, and
/// clears it just before the run). A report or run committed while it is set is read by
/// that run, so its hand-off would only wake the worker for nothing: under a steady
/// stream of reports a few hand-offs an interval reach it, not one per request.
#[derive(Debug, Default)]
pub struct DueTypes([AtomicBool; WarehouseType::ALL.len()]);

impl DueTypes {
    fn slot(&self, w: WarehouseType) -> &AtomicBool {
        let index = WarehouseType::ALL.iter().position(|x| *x == w).unwrap_or(0);
        &self.0[index]
    }

    /// Mark `w` as due to run (its run will read what is committed until then).
    pub fn mark(&self, w: WarehouseType) {
        self.slot(w).store(true, Ordering::Release);
    }

    /// `w` is about to run: hand-offs from now on are needed again.
    pub fn clear(&self, w: WarehouseType) {
        self.slot(w).store(false, Ordering::Release);
    }

    pub fn is_due(&self, w: WarehouseType) -> bool {
        self.slot(w).load(Ordering::Acquire)
    }
}

impl std::fmt::Debug for AfterIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AfterIngest")
            .field("connected", &self.rules.is_some())
            .field("wait", &self.wait)
            .finish()
    }
}

impl AfterIngest {
    /// `due`: shared with the rules worker, which marks and clears it.
    pub fn new(
        freshness: SyncSender<Work<Vec<RunRecord>>>,
        rules: SyncSender<Work<Vec<WarehouseType>>>,
        wait: bool,
        due: Arc<DueTypes>,
    ) -> Self {
        AfterIngest {
            freshness: Some(freshness),
            rules: Some(rules),
            wait,
            due,
        }
    }

    /// Run records were committed: their successes go to the freshness check, their
    /// warehouse types to the threshold rules.
    pub fn runs_stored(&self, records: &[RunRecord]) {
        let succeeded: Vec<RunRecord> = records
            .iter()
            .filter(|r| r.status == RunStatus::Succeeded)
            .cloned()
            .collect();
        if !succeeded.is_empty()
            && let Some(queue) = &self.freshness
            && !self.hand_over(queue, succeeded)
        {
            tracing::warn!("freshness queue full: a batch of successful runs was not checked");
        }
        let touched: Vec<WarehouseType> = records.iter().map(|r| r.warehouse_type).collect();
        self.reports_filed(&touched);
    }

    /// Reports (or runs) of these warehouse types were stored: a burst is a signal too.
    /// A full queue drops the hand-off: the background sweep evaluates every rule anyway.
    pub fn reports_filed(&self, touched: &[WarehouseType]) {
        let mut needed: Vec<WarehouseType> = touched
            .iter()
            .copied()
            .filter(|w| self.wait || !self.due.is_due(*w))
            .collect();
        needed.dedup();
        if needed.is_empty() {
            return;
        }
        if let Some(queue) = &self.rules {
            self.hand_over(queue, needed);
        }
    }

    /// Queue `items`, and wait until they are done if this hand-off waits; false when the
    /// queue was full.
    fn hand_over<T>(&self, queue: &SyncSender<Work<T>>, items: T) -> bool {
        let (done, finished) = if self.wait {
            let (tx, rx) = sync_channel(1);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let sent = if self.wait {
            // Only fails once the worker has gone (the process is ending).
            let _ = queue.send(Work { items, done });
            true
        } else {
            match queue.try_send(Work { items, done }) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => false,
                // The worker has gone (the process is ending): nothing left to do.
                Err(TrySendError::Disconnected(_)) => true,
            }
        };
        if let Some(finished) = finished {
            // An error means the worker dropped the work unfinished (it is ending).
            let _ = finished.recv();
        }
        sent
    }
}
