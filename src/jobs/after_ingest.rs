//! The workers that take what ingest hands over (`state::AfterIngest`): one thread checks
//! freshness for successful runs, another runs the threshold rules of the warehouse types
//! touched. Both run off the request path, so a request that happened to store the run
//! that crosses a threshold does not wait for the incident it opens.
//!
//! Rules after ingest are debounced per warehouse type (a burst of 20,000 events evaluates
//! once, not 20,000 times); the background sweep evaluates every rule besides. With no
//! debounce every hand-off is evaluated before the request answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::time::{Duration, Instant};

use crate::domain::run_record::RunRecord;
use crate::domain::warehouse::WarehouseType;
use crate::services::freshness;
use crate::services::monitor::{self, MonitorCache};
use crate::state::{AfterIngest, Desk, Work};

/// Batches of successful runs waiting for the freshness worker; beyond this the newest
/// are checked by nobody (logged): ingest never waits for the worker.
const FRESHNESS_QUEUE: usize = 1024;
/// Hand-offs waiting for the rules worker; beyond this they are dropped (the worker
/// evaluates what it has, and the sweep catches up).
const RULES_QUEUE: usize = 1024;

/// Start both workers for `desk`; the returned hand-off goes into the desk requests use.
/// `debounce`: the least time between two evaluations of one warehouse type's rules.
pub fn start(desk: &Desk, cache: Arc<MonitorCache>, debounce: Duration) -> AfterIngest {
    let (freshness_tx, freshness_rx) = sync_channel(FRESHNESS_QUEUE);
    let (rules_tx, rules_rx) = sync_channel(RULES_QUEUE);
    let worker_desk = desk.without_after_ingest();
    spawn("freshness", move || {
        check_freshness(&worker_desk, freshness_rx)
    });
    let worker_desk = desk.without_after_ingest();
    spawn("threshold-rules", move || {
        run_rules(&worker_desk, &cache, debounce, rules_rx)
    });
    AfterIngest::new(freshness_tx, rules_tx, debounce.is_zero())
}

fn spawn(name: &str, work: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(work) {
        tracing::warn!(error = %e, worker = name, "cannot start a worker after ingest");
    }
}

/// Take batches of successful runs off the queue, as many as are waiting at once, and
/// resolve the stale-profile tickets they answer. Freshness resolves tickets one by one
/// (each reporter gets the resolved email), which can be hundreds for a table many
/// analysts complained about: hence a worker, not the ingest request.
fn check_freshness(desk: &Desk, queue: Receiver<Work<Vec<RunRecord>>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        batch.extend(queue.try_iter());
        let records: Vec<RunRecord> = batch.iter().flat_map(|w| w.items.clone()).collect();
        let result = desk
            .pool
            .get()
            .map_err(crate::error::AppError::from)
            .and_then(|mut conn| freshness::after_runs(&mut conn, desk, &records));
        if let Err(e) = result {
            tracing::warn!(error = %e, "freshness check after ingest failed");
        }
        batch.into_iter().for_each(Work::finish);
    }
}

/// Evaluate the threshold rules of the warehouse types handed over, each at most once per
/// `debounce`.
fn run_rules(
    desk: &Desk,
    cache: &MonitorCache,
    debounce: Duration,
    queue: Receiver<Work<Vec<WarehouseType>>>,
) {
    let mut last: HashMap<WarehouseType, Instant> = HashMap::new();
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        batch.extend(queue.try_iter());
        let touched: Vec<WarehouseType> = batch.iter().flat_map(|w| w.items.clone()).collect();
        let due = take_due(&mut last, &touched, debounce);
        if !due.is_empty() && !desk.model.signals.rules.is_empty() {
            evaluate_and_log(desk, cache, &due);
        }
        batch.into_iter().for_each(Work::finish);
    }
}

/// The warehouse types of `touched` not evaluated within `debounce`, marked as evaluated.
fn take_due(
    last: &mut HashMap<WarehouseType, Instant>,
    touched: &[WarehouseType],
    debounce: Duration,
) -> Vec<WarehouseType> {
    let now = Instant::now();
    let mut due = Vec::new();
    for w in touched {
        if due.contains(w) {
            continue;
        }
        if last
            .get(w)
            .is_none_or(|at| now.duration_since(*at) >= debounce)
        {
            last.insert(*w, now);
            due.push(*w);
        }
    }
    due
}

fn evaluate_and_log(desk: &Desk, cache: &MonitorCache, due: &[WarehouseType]) {
    let started = Instant::now();
    match monitor::evaluate(desk, cache, desk.clock.now(), Some(due)) {
        Ok(evaluation) => {
            tracing::debug!(
                ms = started.elapsed().as_secs_f64() * 1000.0,
                warehouse_types = ?due,
                "threshold rules evaluated after ingest"
            );
            for line in evaluation.lines {
                tracing::info!(%line, "threshold rules");
            }
        }
        Err(e) => tracing::warn!(error = %e, "threshold rule evaluation after ingest failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warehouse_type_is_due_once_per_debounce() {
        let mut last = HashMap::new();
        let debounce = Duration::from_secs(60);
        let touched = [WarehouseType::Snowflake, WarehouseType::Snowflake];
        assert_eq!(
            take_due(&mut last, &touched, debounce),
            vec![WarehouseType::Snowflake]
        );
        assert!(take_due(&mut last, &touched, debounce).is_empty());
        assert_eq!(
            take_due(&mut last, &[WarehouseType::Bigquery], debounce),
            vec![WarehouseType::Bigquery]
        );
        // No debounce: every hand-off is due.
        assert_eq!(
            take_due(&mut last, &touched, Duration::ZERO),
            vec![WarehouseType::Snowflake]
        );
    }
}
