//! Threshold incidents: evaluate the support model's `[incidents]` rules over recent run
//! records and reports, open one incident (a parent ticket) per crossed signal, keep it
//! while the signal stays up, and resolve it once the signal has stayed down for the
//! cool-down. `readings` measures a rule; `incident` opens, feeds and resolves incidents;
//! this module decides when rules run and keeps the per-process state (debounce, cached
//! baselines, the freshness worker).
//!
//! Each reading looks only at its rule's window (`runs_warehouse_started`,
//! `tickets_created`), so its cost follows the window, never the whole history. Rules run
//! from the background job and after ingest (debounced per warehouse type: a burst of
//! 20,000 events evaluates once, not 20,000 times).

mod incident;
mod readings;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::db::models::signal_incident::SignalIncident;
use crate::domain::run_record::RunRecord;
use crate::domain::signals::Baseline;
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::services::freshness;
use crate::state::Desk;

pub use readings::{Reading, read};

/// The monitor's state in one desk process: when each warehouse type was last evaluated
/// after an ingest, cached duration baselines, and the freshness worker's queue.
#[derive(Debug)]
pub struct Monitor {
    every: StdDuration,
    last: Mutex<HashMap<WarehouseType, Instant>>,
    /// Duration baselines per rule and warehouse type, with when they were computed: a
    /// day of runs changes little in a few minutes.
    baselines: Mutex<HashMap<(String, WarehouseType), (Instant, Baseline)>>,
    /// Per open incident (its ticket id): up to when its related reports were attached,
    /// and when a pass last covered the rule's whole reach.
    attached: Mutex<HashMap<i64, (chrono::NaiveDateTime, Instant)>>,
    /// The worker that checks freshness for ingested runs, started on first use.
    freshness: std::sync::OnceLock<std::sync::mpsc::SyncSender<Vec<RunRecord>>>,
}

/// Successful runs waiting for the freshness worker, in batches; beyond this the newest
/// are checked by nobody (logged): ingest never waits for the worker.
const FRESHNESS_QUEUE: usize = 1024;

/// Reports are attached to an open incident from the last pass on, less this margin: a
/// report's time is taken before its write waits its turn (milliseconds; under the
/// closed-loop overload of `bench/run`, p99 ~0.1 s and the worst ~0.6 s). Each pass reads
/// the margin's reports again, once per open incident of the warehouse type (with ten
/// seconds, nearly a tenth of the server's CPU during a report burst), so it is kept
/// short; a report that commits later still is taken in by the next full pass.
const ATTACH_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(3);
/// How often the attach pass covers a rule's whole reach again.
const FULL_PASS_EVERY: StdDuration = StdDuration::from_secs(300);

/// How long a computed duration baseline is reused.
const BASELINE_FOR: StdDuration = StdDuration::from_secs(300);

impl Monitor {
    pub fn new(every: StdDuration) -> Self {
        Monitor {
            every,
            last: Mutex::new(HashMap::new()),
            baselines: Mutex::new(HashMap::new()),
            attached: Mutex::new(HashMap::new()),
            freshness: std::sync::OnceLock::new(),
        }
    }

    /// The cached baseline of `rule` for `warehouse`, or a fresh one from `compute`.
    fn baseline(
        &self,
        rule: &str,
        warehouse: WarehouseType,
        compute: impl FnOnce() -> Result<Baseline, AppError>,
    ) -> Result<Baseline, AppError> {
        let key = (rule.to_string(), warehouse);
        if let Some((at, baseline)) = self
            .baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            && at.elapsed() < BASELINE_FOR
        {
            return Ok(*baseline);
        }
        let baseline = compute()?;
        self.baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (Instant::now(), baseline));
        Ok(baseline)
    }

    /// Up to when the incident's related reports were last attached, unless a pass over
    /// the rule's whole reach is due (none in this process yet, or `FULL_PASS_EVERY` ago:
    /// it picks up reports triaged into a related category since they were filed).
    fn attached_through(&self, incident: i64) -> Option<chrono::NaiveDateTime> {
        let attached = self.attached.lock().unwrap_or_else(|e| e.into_inner());
        let (through, full_pass) = attached.get(&incident)?;
        (full_pass.elapsed() < FULL_PASS_EVERY).then_some(*through)
    }

    /// Record a pass that attached everything up to `through` (`full`: over the whole reach).
    fn attached(&self, incident: i64, through: chrono::NaiveDateTime, full: bool) {
        let mut attached = self.attached.lock().unwrap_or_else(|e| e.into_inner());
        let full_pass = match attached.get(&incident) {
            Some((_, at)) if !full => *at,
            _ => Instant::now(),
        };
        attached.insert(incident, (through, full_pass));
        // Resolved incidents' entries go with the age of their last full pass.
        attached.retain(|_, (_, at)| at.elapsed() < FULL_PASS_EVERY * 2);
    }

    /// The warehouse types due for an evaluation now, marked as evaluated.
    fn take(&self, touched: &[WarehouseType]) -> Vec<WarehouseType> {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let mut due = Vec::new();
        for w in touched {
            if due.contains(w) {
                continue;
            }
            if last
                .get(w)
                .is_none_or(|at| now.duration_since(*at) >= self.every)
            {
                last.insert(*w, now);
                due.push(*w);
            }
        }
        due
    }
}

/// What one evaluation did, line by line.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub opened: Vec<String>,
    pub resolved: Vec<String>,
    pub attached: usize,
    pub lines: Vec<String>,
}

/// After run records were committed: resolve the stale-profile tickets their successes
/// answer, then run the threshold rules of their warehouse types. The records are stored
/// whatever happens here, so failures are logged, not returned.
///
/// Freshness resolves tickets one by one (each reporter gets the resolved email), which
/// can be hundreds for a table many analysts complained about: so it runs on a worker
/// thread fed by a bounded queue, not in the ingest request. With no debounce
/// (`DESK_MONITOR_DEBOUNCE_MS=0`) it runs before the request answers.
pub fn runs_stored(conn: &mut DbConnection, desk: &Desk, records: &[RunRecord]) {
    let succeeded: Vec<RunRecord> = records
        .iter()
        .filter(|r| r.status == crate::domain::run::RunStatus::Succeeded)
        .cloned()
        .collect();
    if !succeeded.is_empty() {
        // A drill checks at once: its next step looks for the outcome.
        if desk.monitor.every.is_zero() || desk.drill != crate::domain::drill::LIVE {
            if let Err(e) = freshness::after_runs(conn, desk, &succeeded) {
                tracing::warn!(error = %e, "freshness check after ingest failed");
            }
        } else {
            let queue = desk
                .monitor
                .freshness
                .get_or_init(|| freshness_worker(desk));
            if queue.try_send(succeeded).is_err() {
                tracing::warn!("freshness queue full: a batch of successful runs was not checked");
            }
        }
    }
    let touched: Vec<WarehouseType> = records.iter().map(|r| r.warehouse_type).collect();
    after_ingest(conn, desk, &touched);
}

/// Start the freshness worker: it takes batches of successful runs off the queue, as many
/// as are waiting at once, and resolves what they answer.
fn freshness_worker(desk: &Desk) -> std::sync::mpsc::SyncSender<Vec<RunRecord>> {
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<RunRecord>>(FRESHNESS_QUEUE);
    let desk = desk.with_clock(desk.clock.clone());
    let spawned = std::thread::Builder::new()
        .name("freshness".into())
        .spawn(move || {
            while let Ok(mut batch) = receiver.recv() {
                while let Ok(more) = receiver.try_recv() {
                    batch.extend(more);
                }
                let result = desk
                    .pool
                    .get()
                    .map_err(AppError::from)
                    .and_then(|mut conn| freshness::after_runs(&mut conn, &desk, &batch));
                if let Err(e) = result {
                    tracing::warn!(error = %e, "freshness check after ingest failed");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the freshness worker");
    }
    sender
}

/// After runs or reports were stored: evaluate the touched warehouse types, unless they
/// were evaluated within the debounce interval (the background job catches up). The
/// evaluation runs on a thread of its own so the request that happened to trigger it does
/// not wait for it; with no debounce (`DESK_MONITOR_DEBOUNCE_MS=0`) every ingest evaluates
/// before it answers. Failures are logged: what was ingested is stored either way.
pub fn after_ingest(conn: &mut DbConnection, desk: &Desk, touched: &[WarehouseType]) {
    // A drill evaluates its own rules, at its own moved time.
    if desk.model.signals.rules.is_empty() || desk.drill != crate::domain::drill::LIVE {
        return;
    }
    let due = desk.monitor.take(touched);
    if due.is_empty() {
        return;
    }
    if desk.monitor.every.is_zero() {
        evaluate_and_log(conn, desk, &due);
        return;
    }
    let desk = desk.with_clock(desk.clock.clone());
    let spawned = std::thread::Builder::new()
        .name("threshold-rules".into())
        .spawn(move || match desk.pool.get() {
            Ok(mut conn) => evaluate_and_log(&mut conn, &desk, &due),
            Err(e) => tracing::warn!(error = %e, "threshold rules: no database connection"),
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "threshold rules: cannot start a thread");
    }
}

fn evaluate_and_log(conn: &mut DbConnection, desk: &Desk, due: &[WarehouseType]) {
    let started = Instant::now();
    match evaluate_on(conn, desk, desk.clock.now(), Some(due)) {
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

/// Evaluate every rule (for `only` these warehouse types, or all) as of `now`.
pub fn evaluate(
    desk: &Desk,
    now: NaiveDateTime,
    only: Option<&[WarehouseType]>,
) -> Result<Evaluation, AppError> {
    let mut conn = desk.pool.get()?;
    evaluate_on(&mut conn, desk, now, only)
}

pub fn evaluate_on(
    conn: &mut DbConnection,
    desk: &Desk,
    now: NaiveDateTime,
    only: Option<&[WarehouseType]>,
) -> Result<Evaluation, AppError> {
    let conn = &mut *conn;
    let mut evaluation = Evaluation::default();
    let warehouses: Vec<WarehouseType> = WarehouseType::ALL
        .into_iter()
        .filter(|w| only.is_none_or(|o| o.contains(w)))
        .collect();
    // The open incidents once, by signal key, for every reading below. Those an agent
    // closed by hand release their signal: the next crossing opens a new one.
    let mut open: HashMap<String, SignalIncident> = HashMap::new();
    for (incident, ticket_open) in SignalIncident::open_with_ticket_state(conn, desk.drill)? {
        if ticket_open {
            open.insert(incident.signal_key.clone(), incident);
        } else {
            SignalIncident::resolve(conn, incident.id, now)?;
        }
    }
    for rule in &desk.model.signals.rules {
        for &warehouse in warehouses.iter().filter(|w| rule.watches(**w)) {
            for reading in read(conn, desk, rule, warehouse, now)? {
                let current = open.get(&reading.key);
                incident::reconcile(conn, desk, rule, &reading, current, now, &mut evaluation)?;
            }
        }
    }
    Ok(evaluation)
}
