//! Measuring one threshold rule for one warehouse type, from the rule's window only.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{runs, tickets};
use crate::domain::category::Category;
use crate::domain::drill::LIVE;
use crate::domain::signals::{self, Baseline, Condition, Rule, Span};
use crate::domain::status::Status;
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::services::linking::PlannedLink;
use crate::state::Desk;

/// Evidence runs linked to an incident ticket, at most.
const MAX_EVIDENCE_RUNS: usize = 20;

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
    rule: &Rule,
    warehouse: WarehouseType,
    now: NaiveDateTime,
) -> Result<Vec<Reading>, AppError> {
    let w = warehouse.as_str();
    let finished = runs::status.ne("running");
    let reading = |crossed, measurement: String, evidence| Reading {
        key: signal_key(desk, rule, warehouse, None),
        warehouse,
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
                .filter(runs::drill.eq(desk.drill))
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
                .filter(runs::drill.eq(desk.drill))
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
                    .filter(runs::drill.eq(desk.drill))
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
            let mut compute = || {
                let mut before: Vec<i64> =
                    durations(conn, now - *window - *baseline, now - *window)?
                        .into_iter()
                        .map(|(_, d)| d)
                        .collect();
                Ok(Baseline::of(&mut before))
            };
            // A drill's handful of runs is read fresh: the cache holds the live desk's.
            let before = if desk.drill == LIVE {
                desk.monitor.baseline(&rule.name, warehouse, compute)?
            } else {
                compute()?
            };
            let mut recent_ms: Vec<i64> = recent.iter().map(|(_, d)| *d).collect();
            let compared = signals::regression_crossed(&mut recent_ms, before, *factor, *min_runs);
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
            // Only the window's tickets of this warehouse type through `tickets_created`
            // (time, then warehouse type: the others are skipped in the index); the rest
            // is filtered here, because SQLite would rather walk an index on a flag that
            // matches every ticket (is_incident = false) than the time range.
            type Row = (String, bool, Option<i64>, i64, Option<i64>);
            let rows: Vec<Row> = tickets::table
                .filter(tickets::created_at.ge(now - *window))
                .filter(tickets::created_at.le(now))
                .filter(tickets::warehouse_type.eq(w))
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
            // Reports an incident already answered (resolved or closed) are no new burst:
            // an agent resolving an incident must not see it reopen from the same reports.
            let mut parents: Vec<i64> = rows.iter().filter_map(|r| r.4).collect();
            parents.sort_unstable();
            parents.dedup();
            let open: Vec<&str> = Status::OPEN.iter().map(|s| s.as_str()).collect();
            let answered: Vec<i64> = tickets::table
                .filter(tickets::id.eq_any(&parents))
                .filter(tickets::status.ne_all(&open))
                .select(tickets::id)
                .load(conn)?;
            let categories: Vec<String> = rows
                .into_iter()
                .filter(|r| r.4.is_none_or(|p| !answered.contains(&p)))
                .map(|(category, ..)| category)
                .collect();
            rule.condition
                .related_categories()
                .into_iter()
                .map(|category| {
                    let n = categories.iter().filter(|c| *c == category.as_str()).count();
                    Reading {
                        key: signal_key(desk, rule, warehouse, Some(category)),
                        warehouse,
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
