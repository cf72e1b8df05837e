//! Threshold incidents: evaluate the support model's `[incidents]` rules over recent run
//! records and reports, open one incident (a parent ticket) per crossed signal, keep it
//! while the signal stays up, and resolve it once the signal has stayed down for the
//! cool-down.
//!
//! Each reading looks only at its rule's window (`runs_warehouse_started`,
//! `tickets_created`), so its cost follows the window, never the whole history. Rules run
//! from the background job and after ingest (debounced per warehouse type: a burst of
//! 20,000 events evaluates once, not 20,000 times).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::event::{Event, NewEvent};
use crate::db::models::signal_incident::{NewSignalIncident, SignalIncident};
use crate::db::models::ticket::{NUMBER_PREFIX, Ticket};
use crate::db::schema::{runs, tickets};
use crate::db::{DbConnection, is_unique_violation, write_transaction};
use crate::domain::category::{Category, ProblemKind};
use crate::domain::email::EmailAddress;
use crate::domain::run_record::RunRecord;
use crate::domain::signals::{self, Condition, Rule, Span};
use crate::domain::status::Status;
use crate::domain::table::TableName;
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::services::intake::{self, DeskTicket};
use crate::services::linking::PlannedLink;
use crate::services::triage::{self, Changes, Who};
use crate::services::{freshness, incidents};
use crate::state::Desk;

/// Evidence runs linked to an incident ticket, at most.
const MAX_EVIDENCE_RUNS: usize = 20;

/// When each warehouse type was last evaluated after an ingest (per desk process).
#[derive(Debug)]
pub struct Debounce {
    every: StdDuration,
    last: Mutex<HashMap<WarehouseType, Instant>>,
    /// Duration baselines (p95 and run count) per rule and warehouse type, with when
    /// they were computed: a day of runs changes little in a few minutes.
    baselines: Mutex<HashMap<(String, WarehouseType), Baseline>>,
    /// The worker that checks freshness for ingested runs, started on first use.
    freshness: std::sync::OnceLock<std::sync::mpsc::SyncSender<Vec<RunRecord>>>,
}

/// Successful runs waiting for the freshness worker, in batches; beyond this the newest
/// are checked by nobody (logged): ingest never waits for the worker.
const FRESHNESS_QUEUE: usize = 1024;

/// When a baseline was computed, its p95 (none without runs) and how many runs it saw.
type Baseline = (Instant, Option<i64>, usize);

/// How long a computed duration baseline is reused.
const BASELINE_FOR: StdDuration = StdDuration::from_secs(300);

impl Debounce {
    pub fn new(every: StdDuration) -> Self {
        Debounce {
            every,
            last: Mutex::new(HashMap::new()),
            baselines: Mutex::new(HashMap::new()),
            freshness: std::sync::OnceLock::new(),
        }
    }

    /// The cached baseline of `rule` for `warehouse`, or a fresh one from `compute`.
    fn baseline(
        &self,
        rule: &str,
        warehouse: WarehouseType,
        compute: impl FnOnce() -> Result<(Option<i64>, usize), AppError>,
    ) -> Result<(Option<i64>, usize), AppError> {
        let key = (rule.to_string(), warehouse);
        if let Some((at, p95, n)) = self
            .baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            && at.elapsed() < BASELINE_FOR
        {
            return Ok((*p95, *n));
        }
        let (p95, n) = compute()?;
        self.baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (Instant::now(), p95, n));
        Ok((p95, n))
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

/// One rule's measurement for one warehouse type (and category, for report bursts).
#[derive(Debug, Clone)]
pub struct Reading {
    pub key: String,
    pub crossed: bool,
    /// In words, with the numbers: goes on the timeline and into the API.
    pub measurement: String,
    pub category: Option<Category>,
    /// For a critical-table timeout: the table.
    pub table: Option<String>,
    pub evidence: Vec<PlannedLink>,
}

/// What one evaluation did, line by line.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub opened: Vec<String>,
    pub resolved: Vec<String>,
    pub attached: usize,
    pub lines: Vec<String>,
}

fn monitor() -> Who {
    Who {
        name: "inspect-desk monitor".into(),
        user_id: None,
    }
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
        if desk.monitor.every.is_zero() {
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
    if desk.model.signals.rules.is_empty() {
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
    // Incidents an agent closed by hand release their signal: the next crossing opens a
    // new one.
    for open in SignalIncident::open(conn)? {
        let ticket = Ticket::find(conn, open.ticket_id)?;
        if !is_open(&ticket) {
            SignalIncident::resolve(conn, open.id, now)?;
        }
    }
    for rule in &desk.model.signals.rules {
        for &warehouse in warehouses.iter().filter(|w| rule.watches(**w)) {
            let started = Instant::now();
            let readings = read(conn, desk, rule, warehouse, now)?;
            let read_ms = started.elapsed().as_secs_f64() * 1000.0;
            for reading in readings {
                reconcile(conn, desk, rule, warehouse, &reading, now, &mut evaluation)?;
            }
            tracing::trace!(
                rule = %rule.name,
                %warehouse,
                read_ms,
                total_ms = started.elapsed().as_secs_f64() * 1000.0,
                "rule evaluated"
            );
        }
    }
    Ok(evaluation)
}

fn is_open(ticket: &Ticket) -> bool {
    Status::parse(&ticket.status).is_ok_and(|s| Status::OPEN.contains(&s))
}

/// Measure one rule for one warehouse type.
pub fn read(
    conn: &mut DbConnection,
    desk: &Desk,
    rule: &Rule,
    warehouse: WarehouseType,
    now: NaiveDateTime,
) -> Result<Vec<Reading>, AppError> {
    let w = warehouse.as_str();
    let finished = runs::status.ne("running");
    let reading = |crossed, measurement: String, evidence| Reading {
        key: rule.key(warehouse, None),
        crossed,
        measurement,
        category: None,
        table: None,
        evidence,
    };
    Ok(match &rule.condition {
        Condition::FailureRate {
            threshold_percent,
            over,
            min_runs,
        } => {
            let base = runs::table
                .filter(runs::warehouse_type.eq(w))
                .filter(finished)
                .filter(runs::started_at.le(now))
                .select((runs::run_id, runs::status))
                .order(runs::started_at.desc());
            let rows: Vec<(String, String)> = match over {
                Span::LastRuns(n) => base.limit(*n as i64).load(conn)?,
                Span::Window(span) => base.filter(runs::started_at.ge(now - *span)).load(conn)?,
            };
            let failed: Vec<&(String, String)> = rows
                .iter()
                .filter(|(_, s)| s == "failed" || s == "timed_out")
                .collect();
            let rate = if rows.is_empty() {
                0.0
            } else {
                failed.len() as f64 * 100.0 / rows.len() as f64
            };
            let counted = match over {
                Span::LastRuns(_) => format!(
                    "{} of the last {} finished {warehouse} runs",
                    failed.len(),
                    rows.len()
                ),
                Span::Window(span) => format!(
                    "{} of {} {warehouse} runs in the last {}",
                    failed.len(),
                    rows.len(),
                    signals::describe(*span)
                ),
            };
            let measurement = format!(
                "{counted} failed or timed out ({rate:.0}%; threshold {threshold_percent}% over {}, at least {min_runs} runs)",
                match over {
                    Span::LastRuns(n) => format!("the last {n} runs"),
                    Span::Window(span) => signals::describe(*span),
                }
            );
            let crossed = signals::failure_rate_crossed(
                failed.len(),
                rows.len(),
                *threshold_percent,
                *min_runs,
            );
            let evidence = failed
                .iter()
                .take(MAX_EVIDENCE_RUNS)
                .map(|(id, status)| PlannedLink {
                    run_id: id.clone(),
                    reason: format!("evidence for {}: {status}", rule.name),
                })
                .collect();
            vec![reading(crossed, measurement, evidence)]
        }
        Condition::CriticalTimeout { window } => {
            let rows: Vec<(String, String)> = runs::table
                .filter(runs::warehouse_type.eq(w))
                .filter(runs::status.eq("timed_out"))
                .filter(runs::started_at.ge(now - *window))
                .filter(runs::started_at.le(now))
                .order(runs::started_at.desc())
                .select((runs::run_id, runs::table_name))
                .load(conn)?;
            let critical: Vec<(String, String, &str)> = rows
                .into_iter()
                .filter_map(|(id, table)| {
                    let pattern = desk.model.critical_pattern(&table)?;
                    Some((id, table, pattern))
                })
                .collect();
            let mut tables: Vec<&str> = critical.iter().map(|(_, t, _)| t.as_str()).collect();
            tables.dedup();
            let measurement = if critical.is_empty() {
                format!(
                    "no {warehouse} run of a critical table timed out in the last {}",
                    signals::describe(*window)
                )
            } else {
                format!(
                    "{} {warehouse} run(s) of critical tables timed out in the last {}: {}",
                    critical.len(),
                    signals::describe(*window),
                    tables.join(", ")
                )
            };
            let evidence = critical
                .iter()
                .take(MAX_EVIDENCE_RUNS)
                .map(|(id, table, pattern)| PlannedLink {
                    run_id: id.clone(),
                    reason: format!("timed out on {table} (critical: {pattern})"),
                })
                .collect();
            let mut r = reading(!critical.is_empty(), measurement, evidence);
            r.table = critical.first().map(|(_, t, _)| t.clone());
            vec![r]
        }
        Condition::DurationRegression {
            factor,
            window,
            baseline,
            min_runs,
        } => {
            let durations = |conn: &mut DbConnection, from: NaiveDateTime, to: NaiveDateTime| {
                runs::table
                    .filter(runs::warehouse_type.eq(w))
                    .filter(runs::status.eq("succeeded"))
                    .filter(runs::started_at.ge(from))
                    .filter(runs::started_at.lt(to))
                    .filter(runs::duration_ms.is_not_null())
                    .select((runs::run_id, runs::duration_ms.assume_not_null()))
                    .load::<(String, i64)>(conn)
            };
            let recent = durations(conn, now - *window, now)?;
            // The baseline (a day of runs) is reused for a few minutes: reading it on
            // every ingest would cost more than everything else here together.
            let (base_p95, base_runs) = desk.monitor.baseline(&rule.name, warehouse, || {
                let mut before: Vec<i64> =
                    durations(conn, now - *window - *baseline, now - *window)?
                        .into_iter()
                        .map(|(_, d)| d)
                        .collect();
                let n = before.len();
                Ok((signals::percentile(&mut before, 95.0), n))
            })?;
            let mut recent_ms: Vec<i64> = recent.iter().map(|(_, d)| *d).collect();
            let compared = match base_p95 {
                Some(base) if base_runs >= *min_runs && recent_ms.len() >= *min_runs => {
                    signals::percentile(&mut recent_ms, 95.0)
                        .map(|p95| (p95, base, p95 as f64 > factor * base.max(1) as f64))
                }
                _ => None,
            };
            let (measurement, crossed) = match compared {
                Some((p95, base, crossed)) => (
                    format!(
                        "{warehouse} p95 duration {p95} ms over the last {} against {base} ms before it (threshold {factor}×)",
                        signals::describe(*window)
                    ),
                    crossed,
                ),
                None => (
                    format!(
                        "too few successful {warehouse} runs to compare (need {min_runs} in each period)"
                    ),
                    false,
                ),
            };
            let mut slowest = recent;
            slowest.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
            let evidence = slowest
                .into_iter()
                .take(5)
                .map(|(id, ms)| PlannedLink {
                    run_id: id,
                    reason: format!("one of the slowest recent runs: {ms} ms"),
                })
                .collect();
            vec![reading(crossed, measurement, evidence)]
        }
        Condition::ReportBurst {
            reports, window, ..
        } => {
            // Only the window's tickets through `tickets_created`; the rest is filtered
            // here, because SQLite would rather walk an index on a flag that matches
            // every ticket (is_incident = false) than the time range.
            let categories: Vec<String> = tickets::table
                .filter(tickets::created_at.ge(now - *window))
                .filter(tickets::created_at.le(now))
                .filter(tickets::warehouse_type.eq(w))
                .select((
                    tickets::category,
                    tickets::is_incident,
                    tickets::merged_into,
                ))
                .load::<(String, bool, Option<i64>)>(conn)?
                .into_iter()
                .filter(|(_, incident, merged)| !incident && merged.is_none())
                .map(|(category, _, _)| category)
                .collect();
            rule.condition
                .related_categories()
                .into_iter()
                .map(|category| {
                    let n = categories.iter().filter(|c| *c == category.as_str()).count();
                    Reading {
                        key: rule.key(warehouse, Some(category)),
                        crossed: n >= *reports,
                        measurement: format!(
                            "{n} {warehouse} {category} report(s) in the last {} (threshold {reports})",
                            signals::describe(*window)
                        ),
                        category: Some(category),
                        table: None,
                        evidence: Vec::new(),
                    }
                })
                .collect()
        }
    })
}

/// Bring the incident of one signal in line with its reading.
fn reconcile(
    conn: &mut DbConnection,
    desk: &Desk,
    rule: &Rule,
    warehouse: WarehouseType,
    reading: &Reading,
    now: NaiveDateTime,
    evaluation: &mut Evaluation,
) -> Result<(), AppError> {
    let open = SignalIncident::open_for(conn, &reading.key)?;
    match (open, reading.crossed) {
        (None, false) => Ok(()),
        (None, true) => match open_incident(conn, desk, rule, warehouse, reading, now) {
            Ok(Some((ticket, attached))) => {
                evaluation.opened.push(ticket.number());
                evaluation.attached += attached;
                evaluation.lines.push(format!(
                    "{}: opened for {}: {}",
                    ticket.number(),
                    reading.key,
                    reading.measurement
                ));
                Ok(())
            }
            Ok(None) => Ok(()),
            // Another desk instance opened it first; its incident stands.
            Err(AppError::Internal(e))
                if e.downcast_ref::<diesel::result::Error>()
                    .is_some_and(is_unique_violation) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        },
        (Some(open), true) => {
            // Reads first; the write lock only when there is something to write: reports
            // to attach, or a breach to record after a quiet spell or a minute's silence.
            let children = related_children(conn, rule, warehouse, reading, open.opened_at, now)?;
            let note_breach = open.clear_since.is_some()
                || now - open.last_breach_at >= chrono::TimeDelta::minutes(1);
            if children.is_empty() && !note_breach {
                return Ok(());
            }
            let attached = write_transaction(conn, |conn| -> Result<usize, AppError> {
                if note_breach {
                    SignalIncident::still_breached(conn, open.id, now, &reading.measurement)?;
                }
                let incident = Ticket::find(conn, open.ticket_id)?;
                attach_all(conn, &incident, &children, now)
            })?;
            evaluation.attached += attached;
            Ok(())
        }
        (Some(open), false) => {
            // The cool-down counts from the first evaluation that saw the signal below
            // its threshold, so "quiet for 30 minutes" is observed, not assumed.
            let Some(clear_since) = open.clear_since else {
                SignalIncident::clearing(conn, open.id, now)?;
                return Ok(());
            };
            if now - clear_since < desk.model.signals.cool_down {
                return Ok(());
            }
            let number = resolve_incident(conn, desk, &open, reading, now)?;
            evaluation.resolved.push(number.clone());
            evaluation.lines.push(format!(
                "{number}: resolved, {} below threshold since {}",
                reading.key,
                crate::clock::rfc3339(clear_since)
            ));
            Ok(())
        }
    }
}

/// Where incident tickets say they come from: the incident commander, else the desk.
fn incident_reporter(desk: &Desk) -> Result<EmailAddress, AppError> {
    let from = &desk.mail.from;
    let bare = from
        .rsplit_once('<')
        .and_then(|(_, rest)| rest.strip_suffix('>'))
        .unwrap_or(from);
    desk.model
        .incident_commander
        .as_deref()
        .map(EmailAddress::parse)
        .unwrap_or_else(|| EmailAddress::parse(bare))
        .map_err(AppError::internal_msg)
}

fn open_incident(
    conn: &mut DbConnection,
    desk: &Desk,
    rule: &Rule,
    warehouse: WarehouseType,
    reading: &Reading,
    now: NaiveDateTime,
) -> Result<Option<(Ticket, usize)>, AppError> {
    let reporter = incident_reporter(desk)?;
    write_transaction(conn, |conn| {
        if SignalIncident::open_for(conn, &reading.key)?.is_some() {
            return Ok(None);
        }
        let signal = rule.condition.signal();
        let category = reading.category.unwrap_or(Category::ProfilingFailure);
        let table = reading
            .table
            .as_deref()
            .and_then(|t| TableName::parse(t, Some(warehouse)).ok());
        let spec = DeskTicket {
            kind: ProblemKind::Known(category),
            category,
            severity: rule.severity,
            reasons: vec![format!("threshold rule {} ({signal})", rule.name)],
            reporter_email: reporter.clone(),
            warehouse_type: warehouse,
            table,
            description: format!(
                "Opened by the threshold rule {} ({signal}): {}.\n\nRunbook: {}",
                rule.name,
                reading.measurement,
                crate::runbooks::for_signal(signal).unwrap_or("/runbooks")
            ),
            links: reading.evidence.clone(),
        };
        let ticket = intake::open_desk_ticket(conn, desk, spec, now)?;
        let who = monitor();
        let set = triage::TicketChangeset {
            is_incident: Some(true),
            ..Default::default()
        };
        let note = format!(
            "incident opened by threshold rule {} ({signal}): {}",
            rule.name, reading.measurement
        );
        let ticket = triage::touch(
            conn,
            &ticket,
            &who,
            &[("incident_declared", note, true)],
            set,
            now,
        )?;
        SignalIncident::insert(
            conn,
            &NewSignalIncident {
                signal_key: &reading.key,
                rule: &rule.name,
                signal,
                warehouse_type: warehouse.as_str(),
                ticket_id: ticket.id,
                opened_at: now,
                last_breach_at: now,
                measurement: &reading.measurement,
            },
        )?;
        let attached = attach_related(conn, rule, warehouse, reading, &ticket, now, now)?;
        Ok(Some((Ticket::find(conn, ticket.id)?, attached)))
    })
}

/// Attach the open analyst reports that belong with this incident: same warehouse type,
/// a related category, filed since the rule's reach before it opened, not already in one.
fn attach_related(
    conn: &mut DbConnection,
    rule: &Rule,
    warehouse: WarehouseType,
    reading: &Reading,
    incident: &Ticket,
    opened_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let children = related_children(conn, rule, warehouse, reading, opened_at, now)?;
    attach_all(conn, incident, &children, now)
}

/// The open reports (id, version) that belong with an incident of this reading and are
/// in no incident yet.
fn related_children(
    conn: &mut DbConnection,
    rule: &Rule,
    warehouse: WarehouseType,
    reading: &Reading,
    opened_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Vec<(i64, i32)>, AppError> {
    let categories: Vec<&str> = match reading.category {
        Some(c) => vec![c.as_str()],
        None => rule
            .condition
            .related_categories()
            .iter()
            .map(|c| c.as_str())
            .collect(),
    };
    let open: Vec<&str> = Status::OPEN.iter().map(|s| s.as_str()).collect();
    // The window's tickets through `tickets_created`, filtered here (see `read`: the
    // planner would walk a status or flag index over every ticket instead).
    type Row = (i64, i32, String, String, bool, Option<i64>, Option<i64>);
    let children: Vec<(i64, i32)> = tickets::table
        .filter(tickets::created_at.ge(opened_at - rule.condition.reach()))
        .filter(tickets::created_at.le(now))
        .filter(tickets::warehouse_type.eq(warehouse.as_str()))
        .select((
            tickets::id,
            tickets::version,
            tickets::category,
            tickets::status,
            tickets::is_incident,
            tickets::parent_id,
            tickets::merged_into,
        ))
        .load::<Row>(conn)?
        .into_iter()
        .filter(|(_, _, category, status, incident, parent, merged)| {
            categories.contains(&category.as_str())
                && open.contains(&status.as_str())
                && !incident
                && parent.is_none()
                && merged.is_none()
        })
        .map(|(id, version, ..)| (id, version))
        .collect();
    Ok(children)
}

/// Attach `children` (id, version) to `incident`, inside the caller's transaction.
fn attach_all(
    conn: &mut DbConnection,
    incident: &Ticket,
    children: &[(i64, i32)],
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    if children.is_empty() {
        return Ok(0);
    }
    let who = monitor();
    let note = format!("attached to incident {} by {}", incident.number(), who.name);
    // A burst can bring hundreds of reports at once: one UPDATE and a few multi-row
    // inserts for all of them, not a read-modify-write per ticket. The same changes as
    // `triage::touch`: parent set, version bumped, escalation re-armed (the sweep then
    // sees the ticket belongs to an incident and stands it down).
    for chunk in children.chunks(500) {
        let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
        diesel::update(
            tickets::table
                .filter(tickets::id.eq_any(&ids))
                .filter(tickets::parent_id.is_null()),
        )
        .set((
            tickets::parent_id.eq(Some(incident.id)),
            tickets::version.eq(tickets::version + 1),
            tickets::updated_at.eq(now),
            tickets::acknowledged_at.eq(None::<NaiveDateTime>),
            tickets::next_escalation_at.eq(Some(now)),
        ))
        .execute(conn)?;
        let events: Vec<NewEvent<'_>> = chunk
            .iter()
            .map(|(id, version)| NewEvent {
                ticket_id: *id,
                kind: "incident_attached",
                actor: &who.name,
                detail: &note,
                public: true,
                created_at: now,
                version: version + 1,
            })
            .collect();
        Event::insert_many(conn, &events)?;
    }
    // One note on the incident for the lot, not one per report.
    let mut numbers: Vec<String> = children
        .iter()
        .take(20)
        .map(|(id, _)| format!("{NUMBER_PREFIX}{id}"))
        .collect();
    if children.len() > 20 {
        numbers.push(format!("and {} more", children.len() - 20));
    }
    let summary = format!("{} attached by {}", numbers.join(", "), who.name);
    let incident = Ticket::find(conn, incident.id)?;
    triage::touch(
        conn,
        &incident,
        &who,
        &[("incident_child_added", summary, false)],
        triage::TicketChangeset::default(),
        now,
    )?;
    Ok(children.len())
}

/// The signal stayed below its threshold for the cool-down: resolve the incident with a
/// timeline note, and tell the reporters of the attached tickets once each.
fn resolve_incident(
    conn: &mut DbConnection,
    desk: &Desk,
    open: &SignalIncident,
    reading: &Reading,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    let who = monitor();
    let ticket = Ticket::find(conn, open.ticket_id)?;
    let cool_down = signals::describe(desk.model.signals.cool_down);
    let note = format!(
        "{} stayed below its threshold for {cool_down}: {}",
        open.signal_key, reading.measurement
    );
    if is_open(&ticket) {
        let changes = Changes {
            status: Some(Status::Resolved),
            reason: Some(note.clone()),
            ..Changes::default()
        };
        // A concurrent change by an agent wins; the next evaluation tries again.
        if triage::update(conn, desk, &who, ticket.id, ticket.version, &changes)?.is_err() {
            return Ok(ticket.number());
        }
    }
    if SignalIncident::resolve(conn, open.id, now)? == 1 {
        incidents::update(
            conn,
            desk,
            &who,
            ticket.id,
            &format!(
                "Resolved: {note}. If you still see the problem, reply on your tracking page."
            ),
        )?;
    }
    Ok(ticket.number())
}
