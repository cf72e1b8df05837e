//! The hand-off from ingest to the work that follows it: freshness checks for successful
//! runs, and the threshold rules of the warehouse types touched. The request that stored
//! the runs or filed the report hands them over here and answers; the workers that take
//! them are started and owned by `jobs::after_ingest`.

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
    pub fn new(
        freshness: SyncSender<Work<Vec<RunRecord>>>,
        rules: SyncSender<Work<Vec<WarehouseType>>>,
        wait: bool,
    ) -> Self {
        AfterIngest {
            freshness: Some(freshness),
            rules: Some(rules),
            wait,
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
        if touched.is_empty() {
            return;
        }
        if let Some(queue) = &self.rules {
            self.hand_over(queue, touched.to_vec());
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
