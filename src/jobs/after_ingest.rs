//! The workers that take what ingest hands over (`state::AfterIngest`): one thread checks
//! freshness for successful runs, another runs the threshold rules of the warehouse types
//! touched. Both run off the request path, so a request that happened to store the run
//! that crosses a threshold does not wait for the incident it opens.
//!
//! Rules after ingest are debounced per warehouse type, on both edges: the first event of a
//! burst evaluates at once, the rest once more when the interval has passed (a burst of
//! 20,000 events evaluates a handful of times, not 20,000), so an incident opens within
//! the interval of the event that crossed its threshold. The background sweep evaluates
//! every rule besides. With no debounce every hand-off is evaluated before the request
//! answers.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

use crate::domain::run_record::RunRecord;
use crate::domain::warehouse::WarehouseType;
use crate::services::freshness;
use crate::services::monitor::{self, MonitorCache};
use crate::state::{AfterIngest, Desk, DueTypes, Work};

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
    let due = Arc::new(DueTypes::default());
    let worker_desk = desk.without_after_ingest();
    spawn("freshness", move || {
        check_freshness(&worker_desk, freshness_rx)
    });
    let worker_desk = desk.without_after_ingest();
    let worker_due = due.clone();
    spawn("threshold-rules", move || {
        run_rules(&worker_desk, &cache, debounce, rules_rx, &worker_due)
    });
    AfterIngest::new(freshness_tx, rules_tx, debounce.is_zero(), due)
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
/// `debounce`: a type touched for the first time in a while is evaluated at once, and one
/// touched again within the interval is evaluated once the interval has passed, so the
/// event that crosses a threshold in the middle of a burst opens its incident within the
/// interval of it, not at the next background sweep.
fn run_rules(
    desk: &Desk,
    cache: &MonitorCache,
    debounce: Duration,
    queue: Receiver<Work<Vec<WarehouseType>>>,
    due_types: &DueTypes,
) {
    let mut pace = Debounce::new(debounce);
    loop {
        let first = match pace.next_due() {
            None => match queue.recv() {
                Ok(work) => Some(work),
                Err(_) => return,
            },
            Some(at) => match queue.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(work) => Some(work),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
        };
        let mut batch: Vec<Work<Vec<WarehouseType>>> = first.into_iter().collect();
        batch.extend(queue.try_iter());
        let touched: Vec<WarehouseType> = batch.iter().flat_map(|w| w.items.clone()).collect();
        let now = Instant::now();
        let mut due = pace.touched(&touched, now);
        for waited in pace.due(now) {
            if !due.contains(&waited) {
                due.push(waited);
            }
        }
        // Waiting types need no more hand-offs until they run; the ones about to run do.
        for w in &pace.waiting {
            due_types.mark(*w);
        }
        for w in &due {
            due_types.clear(*w);
        }
        if !due.is_empty() && !desk.model.signals.rules.is_empty() {
            evaluate_and_log(desk, cache, &due);
        }
        batch.into_iter().for_each(Work::finish);
    }
}

/// When each warehouse type's rules may run next: at once if they have not run within
/// the interval (the leading edge), else once it has passed since they last ran (the
/// trailing edge), however many hand-offs touched the type meanwhile.
#[derive(Debug)]
struct Debounce {
    every: Duration,
    last: HashMap<WarehouseType, Instant>,
    /// Touched since they last ran, within the interval: waiting for its end.
    waiting: BTreeSet<WarehouseType>,
}

impl Debounce {
    fn new(every: Duration) -> Self {
        Debounce {
            every,
            last: HashMap::new(),
            waiting: BTreeSet::new(),
        }
    }

    /// `touched` at `now`: the types due at once, marked as run; the others wait.
    fn touched(&mut self, touched: &[WarehouseType], now: Instant) -> Vec<WarehouseType> {
        let mut due = Vec::new();
        for w in touched {
            if due.contains(w) {
                continue;
            }
            if self.ready(*w, now) {
                self.ran(*w, now);
                due.push(*w);
            } else {
                self.waiting.insert(*w);
            }
        }
        due
    }

    /// The waiting types whose interval has passed at `now`, marked as run.
    fn due(&mut self, now: Instant) -> Vec<WarehouseType> {
        let due: Vec<WarehouseType> = self
            .waiting
            .iter()
            .copied()
            .filter(|w| self.ready(*w, now))
            .collect();
        for w in &due {
            self.ran(*w, now);
        }
        due
    }

    /// When the first waiting type falls due.
    fn next_due(&self) -> Option<Instant> {
        self.waiting
            .iter()
            .filter_map(|w| self.last.get(w).map(|at| *at + self.every))
            .min()
    }

    fn ready(&self, w: WarehouseType, now: Instant) -> bool {
        self.last
            .get(&w)
            .is_none_or(|at| now.duration_since(*at) >= self.every)
    }

    fn ran(&mut self, w: WarehouseType, now: Instant) {
        self.last.insert(w, now);
        self.waiting.remove(&w);
    }
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
    use WarehouseType::{Bigquery, Snowflake};

    #[test]
    fn the_first_touch_runs_at_once_and_a_burst_once_more_at_the_end_of_the_interval() {
        let every = Duration::from_secs(2);
        let mut pace = Debounce::new(every);
        let start = Instant::now();
        assert_eq!(
            pace.touched(&[Snowflake, Snowflake], start),
            vec![Snowflake]
        );
        assert_eq!(
            pace.next_due(),
            None,
            "nothing waits after the leading edge"
        );
        // The rest of the burst waits for the interval's end, once.
        let later = start + Duration::from_millis(500);
        assert!(pace.touched(&[Snowflake], later).is_empty());
        assert!(
            pace.touched(&[Snowflake], later + Duration::from_millis(900))
                .is_empty()
        );
        assert_eq!(pace.next_due(), Some(start + every));
        assert!(pace.due(start + Duration::from_millis(1999)).is_empty());
        assert_eq!(pace.due(start + every), vec![Snowflake]);
        assert_eq!(pace.next_due(), None);
        assert!(
            pace.due(start + every * 3).is_empty(),
            "ran once, not again"
        );
    }

    #[test]
    fn warehouse_types_are_paced_apart() {
        let every = Duration::from_secs(2);
        let mut pace = Debounce::new(every);
        let start = Instant::now();
        assert_eq!(pace.touched(&[Snowflake], start), vec![Snowflake]);
        let later = start + Duration::from_millis(300);
        assert_eq!(pace.touched(&[Bigquery, Snowflake], later), vec![Bigquery]);
        assert_eq!(pace.next_due(), Some(start + every));
        // A type whose interval has passed runs at once when touched.
        assert_eq!(pace.touched(&[Snowflake], start + every), vec![Snowflake]);
        assert_eq!(pace.next_due(), None);
    }

    #[test]
    fn with_no_interval_every_touch_runs() {
        let mut pace = Debounce::new(Duration::ZERO);
        let now = Instant::now();
        assert_eq!(pace.touched(&[Snowflake], now), vec![Snowflake]);
        assert_eq!(pace.touched(&[Snowflake], now), vec![Snowflake]);
        assert_eq!(pace.next_due(), None);
    }
}
