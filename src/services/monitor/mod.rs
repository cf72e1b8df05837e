//! Threshold incidents: evaluate the support model's `[incidents]` rules over recent run
//! records and reports, open one incident (a parent ticket) per crossed signal, keep it
//! while the signal stays up, and resolve it once the signal has stayed down for the
//! cool-down. `readings` measures a rule; `incident` opens, feeds and resolves incidents;
//! this module runs the rules and keeps what an evaluation may reuse from the last one
//! (`MonitorCache`). When they run is the caller's choice: the background sweep, and after
//! ingest (`jobs::after_ingest`, debounced per warehouse type).
//!
//! Each reading looks only at its rule's window (`runs_warehouse_started`,
//! `tickets_created`), so its cost follows the window, never the whole history.

mod incident;
mod readings;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::db::models::signal_incident::SignalIncident;
use crate::domain::signals::Baseline;
use crate::domain::ticket_number::TicketNumber;
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::state::Desk;

pub use readings::{Reading, read};

/// What evaluations in one process reuse: cached duration baselines, and how far each
/// open incident's related reports were attached. Owned by whoever runs the rules (the
/// background jobs; a drill has its own).
#[derive(Debug, Default)]
pub struct MonitorCache {
    /// Duration baselines per rule and warehouse type, with when they were computed: a
    /// day of runs changes little in a few minutes.
    baselines: Mutex<HashMap<(String, WarehouseType), (Instant, Baseline)>>,
    /// Per open incident (its ticket id): up to when its related reports were attached,
    /// and when a pass last covered the rule's whole reach.
    attached: Mutex<HashMap<i64, (chrono::NaiveDateTime, Instant)>>,
}

/// Reports are attached to an open incident from the last pass on, less this margin: a
/// report's time is taken before its write waits its turn, which under overload can be
/// well under a second but not nothing. Each pass reads the margin's reports again, once
/// per open incident of the warehouse type, which costs real CPU during a report burst, so
/// the margin is kept short; a report that commits later still is taken in by the next
/// full pass.
const ATTACH_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(3);
/// How often the attach pass covers a rule's whole reach again.
const FULL_PASS_EVERY: StdDuration = StdDuration::from_secs(300);

/// How long a computed duration baseline is reused.
const BASELINE_FOR: StdDuration = StdDuration::from_secs(300);

impl MonitorCache {
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
}

/// What one evaluation did, line by line.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub opened: Vec<TicketNumber>,
    pub resolved: Vec<TicketNumber>,
    pub attached: usize,
    pub lines: Vec<String>,
}

/// Evaluate every rule (for `only` these warehouse types, or all) as of `now`.
pub fn evaluate(
    desk: &Desk,
    cache: &MonitorCache,
    now: NaiveDateTime,
    only: Option<&[WarehouseType]>,
) -> Result<Evaluation, AppError> {
    let mut conn = desk.pool.get()?;
    evaluate_on(&mut conn, desk, cache, now, only)
}

/// `evaluate` on the caller's connection.
pub fn evaluate_on(
    conn: &mut DbConnection,
    desk: &Desk,
    cache: &MonitorCache,
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
            for reading in read(conn, desk, cache, rule, warehouse, now)? {
                let current = open.get(&reading.key);
                incident::reconcile(
                    conn,
                    desk,
                    cache,
                    rule,
                    &reading,
                    current,
                    now,
                    &mut evaluation,
                )?;
            }
        }
    }
    Ok(evaluation)
}
