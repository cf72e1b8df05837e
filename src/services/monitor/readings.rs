//! Measuring one threshold rule for one warehouse type, from the rule's window only.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{runs, tickets};
use crate::domain::category::Category;
use crate::domain::drill::LIVE;
use crate::domain::run::RunStatus;
use crate::domain::signals::{self, Baseline, Condition, Rule, Span};
use crate::domain::status::Status;
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::services::linking::PlannedLink;
use crate::state::Desk;

/// Evidence runs linked to an incident ticket, at most.
const MAX_EVIDENCE_RUNS: usize = 20;

/// The slowest recent runs linked to a duration-regression incident.
const SLOWEST_EVIDENCE: usize = 5;

/// One rule's measurement for one warehouse type (and category, for report bursts).
#[derive(Debug, Clone)]
pub struct Reading {
    pub key: String,
    pub warehouse: WarehouseType,
    pub crossed: bool,
    /// In words, with the numbers: goes on the timeline and into the API.
    pub measurement: String,
    pub category: Option<Category>,
    /// For a critical-table timeout: the table.
    pub table: Option<String>,
    pub evidence: Vec<PlannedLink>,
}

/// What "the same signal" is: the rule's key, in its drill's namespace for a drill.
pub fn signal_key(
    desk: &Desk,
    rule: &Rule,
    warehouse: WarehouseType,
    category: Option<Category>,
) -> String {
    let key = rule.key(warehouse, category);
    if desk.drill == LIVE {
        key
    } else {
        format!("drill-{}/{key}", desk.drill)
    }
}

/// Measure one rule for one warehouse type, over the runs and reports of the desk's own
/// drill (`LIVE`: real ones).
pub fn read(
    conn: &mut DbConnection,
    desk: &Desk,
    cache: &super::MonitorCache,
    rule: &Rule,
    warehouse: WarehouseType,
    now: NaiveDateTime,
) -> Result<Vec<Reading>, AppError> {
    let on = On {
        desk,
        rule,
        warehouse,
        now,
    };
    Ok(match &rule.condition {
        Condition::FailureRate {
            threshold_percent,
            over,
            min_runs,
        } => vec![failure_rate(
            conn,
            &on,
            *threshold_percent,
            *over,
            *min_runs,
        )?],
        Condition::CriticalTimeout { window } => vec![critical_timeout(conn, &on, *window)?],
        Condition::DurationRegression {
            factor,
            window,
            baseline,
            min_runs,
        } => {
            let spans = (*window, *baseline);
            vec![duration_regression(
                conn, &on, cache, *factor, spans, *min_runs,
            )?]
        }
        Condition::ReportBurst {
            reports, window, ..
        } => report_burst(conn, &on, *reports, *window)?,
    })
}

/// What a reading is taken of: one rule, one warehouse type, at one moment, for the
/// desk's own drill.
struct On<'a> {
    desk: &'a Desk,
    rule: &'a Rule,
    warehouse: WarehouseType,
    now: NaiveDateTime,
}

impl On<'_> {
    /// A reading of the rule's own signal (not one of its categories).
    fn reading(&self, crossed: bool, measurement: String, evidence: Vec<PlannedLink>) -> Reading {
        Reading {
            key: signal_key(self.desk, self.rule, self.warehouse, None),
            warehouse: self.warehouse,
            crossed,
            measurement,
            category: None,
            table: None,
            evidence,
        }
    }
}

/// Finished runs failing or timing out over the last N runs or a window.
fn failure_rate(
    conn: &mut DbConnection,
    on: &On<'_>,
    threshold_percent: f64,
    over: Span,
    min_runs: usize,
) -> Result<Reading, AppError> {
    let (warehouse, now) = (on.warehouse, on.now);
    let base = runs::table
        .filter(runs::warehouse_type.eq(warehouse))
        .filter(runs::drill.eq(on.desk.drill))
        .filter(runs::status.ne(RunStatus::Running))
        .filter(runs::started_at.le(now))
        .order(runs::started_at.desc());
    // The last N runs with their ids (N is small); a window's statuses alone, from
    // `runs_warehouse_started` (it holds them), and the failed ones' ids only when
    // the rule crossed: a window can hold every run of an hour of ingest.
    let (statuses, failed_ids): (Vec<RunStatus>, Option<Vec<(String, RunStatus)>>) = match over {
        Span::LastRuns(n) => {
            let rows: Vec<(String, RunStatus)> = base
                .select((runs::run_id, runs::status))
                .limit(n as i64)
                .load(conn)?;
            let statuses = rows.iter().map(|(_, s)| *s).collect();
            (statuses, Some(rows))
        }
        Span::Window(span) => (
            base.filter(runs::started_at.ge(now - span))
                .select(runs::status)
                .load(conn)?,
            None,
        ),
    };
    let failed = statuses.iter().filter(|s| s.is_failure()).count();
    let total = statuses.len();
    let rate = if total == 0 {
        0.0
    } else {
        failed as f64 * 100.0 / total as f64
    };
    let counted = match over {
        Span::LastRuns(_) => {
            format!("{failed} of the last {total} finished {warehouse} runs")
        }
        Span::Window(span) => format!(
            "{failed} of {total} {warehouse} runs in the last {}",
            signals::describe(span)
        ),
    };
    let measurement = format!(
        "{counted} failed or timed out ({rate:.0}%; threshold {threshold_percent}% over {}, at least {min_runs} runs)",
        match over {
            Span::LastRuns(n) => format!("the last {n} runs"),
            Span::Window(span) => signals::describe(span),
        }
    );
    let crossed = signals::failure_rate_crossed(failed, total, threshold_percent, min_runs);
    let failed_rows = match (failed_ids, over) {
        (Some(rows), _) => rows,
        (None, Span::Window(span)) if crossed => runs::table
            .filter(runs::warehouse_type.eq(warehouse))
            .filter(runs::drill.eq(on.desk.drill))
            .filter(runs::status.eq_any([RunStatus::Failed, RunStatus::TimedOut]))
            .filter(runs::started_at.ge(now - span))
            .filter(runs::started_at.le(now))
            .order(runs::started_at.desc())
            .select((runs::run_id, runs::status))
            .limit(MAX_EVIDENCE_RUNS as i64)
            .load(conn)?,
        (None, _) => Vec::new(),
    };
    let evidence = failed_rows
        .into_iter()
        .filter(|(_, status)| status.is_failure())
        .take(MAX_EVIDENCE_RUNS)
        .map(|(id, status)| PlannedLink {
            reason: format!("evidence for {}: {status}", on.rule.name),
            run_id: id,
        })
        .collect();
    Ok(on.reading(crossed, measurement, evidence))
}

/// Runs of critical tables that timed out within the window.
fn critical_timeout(
    conn: &mut DbConnection,
    on: &On<'_>,
    window: TimeDelta,
) -> Result<Reading, AppError> {
    let (warehouse, now) = (on.warehouse, on.now);
    let rows: Vec<(String, String)> = runs::table
        .filter(runs::warehouse_type.eq(warehouse))
        .filter(runs::drill.eq(on.desk.drill))
        .filter(runs::status.eq(RunStatus::TimedOut))
        .filter(runs::started_at.ge(now - window))
        .filter(runs::started_at.le(now))
        .order(runs::started_at.desc())
        .select((runs::run_id, runs::table_name))
        .load(conn)?;
    let critical: Vec<(String, String, &str)> = rows
        .into_iter()
        .filter_map(|(id, table)| {
            let pattern = on.desk.model.critical_pattern(&table)?;
            Some((id, table, pattern))
        })
        .collect();
    let mut tables: Vec<&str> = critical.iter().map(|(_, t, _)| t.as_str()).collect();
    tables.dedup();
    let measurement = if critical.is_empty() {
        format!(
            "no {warehouse} run of a critical table timed out in the last {}",
            signals::describe(window)
        )
    } else {
        format!(
            "{} {warehouse} run(s) of critical tables timed out in the last {}: {}",
            critical.len(),
            signals::describe(window),
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
    let mut reading = on.reading(!critical.is_empty(), measurement, evidence);
    reading.table = critical.first().map(|(_, t, _)| t.clone());
    Ok(reading)
}

/// The p95 duration of the window's successful runs against the baseline before it.
/// `spans`: the window and the baseline.
fn duration_regression(
    conn: &mut DbConnection,
    on: &On<'_>,
    cache: &super::MonitorCache,
    factor: f64,
    (window, baseline): (TimeDelta, TimeDelta),
    min_runs: usize,
) -> Result<Reading, AppError> {
    let (warehouse, now) = (on.warehouse, on.now);
    // Durations alone: `runs_warehouse_started` holds them, so a window (every run of an
    // hour of ingest) is read from the index without looking up each run.
    let succeeded = || {
        runs::table
            .filter(runs::warehouse_type.eq(warehouse))
            .filter(runs::drill.eq(on.desk.drill))
            .filter(runs::status.eq(RunStatus::Succeeded))
            .filter(runs::duration_ms.is_not_null())
    };
    let durations = |conn: &mut DbConnection, from: NaiveDateTime, to: NaiveDateTime| {
        succeeded()
            .filter(runs::started_at.ge(from))
            .filter(runs::started_at.lt(to))
            .select(runs::duration_ms.assume_not_null())
            .load::<i64>(conn)
    };
    let mut recent_ms = durations(conn, now - window, now)?;
    // The baseline (a day of runs) is reused for a few minutes: reading it on every
    // ingest would cost more than everything else here together.
    let mut compute = || {
        let mut before = durations(conn, now - window - baseline, now - window)?;
        Ok(Baseline::of(&mut before))
    };
    // A drill's handful of runs is read fresh: the cache holds the live desk's.
    let before = if on.desk.drill == LIVE {
        cache.baseline(&on.rule.name, warehouse, compute)?
    } else {
        compute()?
    };
    let compared = signals::regression_crossed(&mut recent_ms, before, factor, min_runs);
    let (measurement, crossed) = match compared {
        Some((p95, base, crossed)) => (
            format!(
                "{warehouse} p95 duration {p95} ms over the last {} against {base} ms before it (threshold {factor}×)",
                signals::describe(window)
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
    // The slowest recent runs by id, only for a crossed rule: the window's durations from
    // the index, then the few runs at the top looked up.
    let slowest = if crossed {
        // The fifth-longest duration (or the shortest, with fewer), in place.
        let nth = recent_ms.len().saturating_sub(SLOWEST_EVIDENCE);
        let floor = (!recent_ms.is_empty()).then(|| *recent_ms.select_nth_unstable(nth).1);
        match floor {
            Some(floor) => succeeded()
                .filter(runs::started_at.ge(now - window))
                .filter(runs::started_at.lt(now))
                .filter(runs::duration_ms.ge(floor))
                .order((runs::duration_ms.desc(), runs::run_id))
                .select((runs::run_id, runs::duration_ms.assume_not_null()))
                .limit(SLOWEST_EVIDENCE as i64)
                .load::<(String, i64)>(conn)?,
            None => Vec::new(),
        }
    } else {
        Vec::new()
    };
    let evidence = slowest
        .into_iter()
        .map(|(id, ms)| PlannedLink {
            run_id: id,
            reason: format!("one of the slowest recent runs: {ms} ms"),
        })
        .collect();
    Ok(on.reading(crossed, measurement, evidence))
}

/// Reports of each related category filed within the window: one reading per category.
fn report_burst(
    conn: &mut DbConnection,
    on: &On<'_>,
    reports: usize,
    window: TimeDelta,
) -> Result<Vec<Reading>, AppError> {
    let (desk, warehouse, now) = (on.desk, on.warehouse, on.now);
    // Only the window's tickets of this warehouse type through `tickets_created` (time,
    // then warehouse type: the others are skipped in the index); the rest is filtered
    // here, because SQLite would rather walk an index on a flag that matches every ticket
    // (is_incident = false) than the time range.
    type Row = (Category, bool, Option<i64>, i64, Option<i64>);
    let rows: Vec<Row> = tickets::table
        .filter(tickets::created_at.ge(now - window))
        .filter(tickets::created_at.le(now))
        .filter(tickets::warehouse_type.eq(warehouse))
        .select((
            tickets::category,
            tickets::is_incident,
            tickets::merged_into,
            tickets::drill,
            tickets::parent_id,
        ))
        .load::<Row>(conn)?
        .into_iter()
        .filter(|(_, incident, merged, drill, _)| {
            !incident && merged.is_none() && *drill == desk.drill
        })
        .collect();
    // Reports an incident already answered (resolved or closed) are no new burst: an
    // agent resolving an incident must not see it reopen from the same reports.
    let mut parents: Vec<i64> = rows.iter().filter_map(|r| r.4).collect();
    parents.sort_unstable();
    parents.dedup();
    let answered: Vec<i64> = tickets::table
        .filter(tickets::id.eq_any(&parents))
        .filter(tickets::status.ne_all(Status::OPEN))
        .select(tickets::id)
        .load(conn)?;
    let categories: Vec<Category> = rows
        .into_iter()
        .filter(|r| r.4.is_none_or(|p| !answered.contains(&p)))
        .map(|(category, ..)| category)
        .collect();
    Ok(on
        .rule
        .condition
        .related_categories()
        .into_iter()
        .map(|category| {
            let n = categories.iter().filter(|c| **c == category).count();
            Reading {
                key: signal_key(desk, on.rule, warehouse, Some(category)),
                warehouse,
                crossed: n >= reports,
                measurement: format!(
                    "{n} {warehouse} {category} report(s) in the last {} (threshold {reports})",
                    signals::describe(window)
                ),
                category: Some(category),
                table: None,
                evidence: Vec::new(),
            }
        })
        .collect())
}
