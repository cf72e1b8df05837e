//! Reading what `/telemetry` shows for one window. Every query is bounded by the window
//! (runs by `started_at`, through the `runs_warehouse_started` index once per warehouse
//! type; reports by `created_at`), so its cost follows the window, not the history.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use chrono::DurationRound;

use crate::db::DbConnection;
use crate::db::schema::{runs, tickets};
use crate::domain::category::{Category, TypeVerdict};
use crate::domain::drill::LIVE;
use crate::domain::run::RunStatus;
use crate::domain::run_stats::{self, ColumnKey, RunSample, Tally, TypeAccuracy, WarehouseStats};
use crate::domain::support_model::SupportModel;
use crate::domain::warehouse::WarehouseType;
use crate::domain::window::Window;
use crate::error::AppError;
use crate::services::rollups;

/// Tables checked for staleness at most; beyond it the page says the list was cut.
const MAX_STALE_CANDIDATES: usize = 2_000;

/// A table profiled in the window whose last success is older than its target.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleTable {
    pub warehouse_type: WarehouseType,
    pub table: String,
    /// None: no successful run at all.
    pub last_success: Option<NaiveDateTime>,
    pub target: TimeDelta,
}

/// Everything the page shows for one window.
#[derive(Debug, Clone)]
pub struct Telemetry {
    pub since: NaiveDateTime,
    pub warehouses: Vec<WarehouseStats>,
    pub stale: Vec<StaleTable>,
    /// More tables were profiled than were checked.
    pub stale_cut: bool,
    pub accuracy: Vec<TypeAccuracy>,
}

/// Read and compute the telemetry of `window` (a bounded one) ending `now`.
///
/// The last hour comes from its runs (5-minute bars). A day or a week comes from the
/// hourly roll-ups, whole hours from `run_hours` and the window's first, partial hour from
/// its runs (hourly or 6-hourly bars, on clock boundaries); stale tables from
/// `table_health`, accuracy from `typed_columns`. So a week of a million runs reads about a
/// thousand hour rows, the tables and the typed columns, never the runs themselves.
pub fn read(
    conn: &mut DbConnection,
    model: &SupportModel,
    window: Window,
    bars: usize,
    now: NaiveDateTime,
) -> Result<Telemetry, AppError> {
    let since = window.since(now).unwrap_or(now - TimeDelta::days(7));
    let warehouses = match window {
        Window::Hour => run_stats::summarize(&samples(conn, since, now)?, since, now, bars),
        _ => from_hours(conn, window, since, now)?,
    };
    let (stale, stale_cut) = stale_tables(conn, model, since, now)?;
    Ok(Telemetry {
        since,
        warehouses,
        stale,
        stale_cut,
        accuracy: accuracy(conn, since, now)?,
    })
}

/// Runs started in `[since, until]`, as samples.
fn samples(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Vec<RunSample>> {
    // Every warehouse type named, so that the walk is one range of (warehouse type,
    // start) per type: runs have no index on their start alone.
    let rows: Vec<(WarehouseType, RunStatus, NaiveDateTime, Option<i64>)> = runs::table
        .filter(runs::warehouse_type.eq_any(WarehouseType::ALL))
        .filter(runs::started_at.ge(since))
        .filter(runs::started_at.le(until))
        .filter(runs::drill.eq(LIVE))
        .select((
            runs::warehouse_type,
            runs::status,
            runs::started_at,
            runs::duration_ms,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(warehouse_type, status, started_at, duration_ms)| RunSample {
                warehouse_type,
                status,
                started_at,
                duration_ms,
            },
        )
        .collect())
}

/// Where the chart's first bar starts: the window's start for the last hour (its bars
/// are even slices of it), the clock boundary before it for a day or a week.
pub fn bars_start(window: Window, since: NaiveDateTime) -> NaiveDateTime {
    match window {
        Window::Hour => since,
        _ => since.duration_trunc(bar_width(window)).unwrap_or(since),
    }
}

/// Bar width of a window read from roll-ups: an hour for a day, six for a week.
fn bar_width(window: Window) -> TimeDelta {
    match window {
        Window::Day => TimeDelta::hours(1),
        _ => TimeDelta::hours(6),
    }
}

fn from_hours(
    conn: &mut DbConnection,
    window: Window,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Vec<WarehouseStats>, AppError> {
    let width = bar_width(window);
    let origin = since.duration_trunc(width).unwrap_or(since);
    let slots = ((now - origin).num_seconds() / width.num_seconds() + 1).max(1) as usize;
    let slot = |at: NaiveDateTime| {
        (((at - origin).num_seconds() / width.num_seconds()).max(0) as usize).min(slots - 1)
    };
    let mut slices: Vec<Vec<Tally>> = vec![vec![Tally::default(); slots]; WarehouseType::ALL.len()];
    let index = |w: WarehouseType| WarehouseType::ALL.iter().position(|x| *x == w).unwrap_or(0);
    // The first hour is partly before the window: its runs from `since` on.
    let first_whole = rollups::hour_of(since) + TimeDelta::hours(1);
    for s in samples(
        conn,
        since,
        (first_whole - TimeDelta::microseconds(1)).min(now),
    )? {
        slices[index(s.warehouse_type)][slot(s.started_at)].count(s.status, s.duration_ms, 1);
    }
    for (w, hour, tally) in rollups::hours_between(conn, first_whole, now)? {
        slices[index(w)][slot(hour)].merge(&tally);
    }
    Ok(WarehouseType::ALL
        .into_iter()
        .zip(slices)
        .map(|(w, s)| WarehouseStats::of(w, &s))
        .collect())
}

/// Tables profiled in the window (from `table_health`) whose last success is older than
/// the freshness target, or that never succeeded. Oldest success first.
fn stale_tables(
    conn: &mut DbConnection,
    model: &SupportModel,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<(Vec<StaleTable>, bool)> {
    let mut tables = rollups::tables_profiled(conn, since, now, MAX_STALE_CANDIDATES as i64 + 1)?;
    let cut = tables.len() > MAX_STALE_CANDIDATES;
    tables.truncate(MAX_STALE_CANDIDATES);
    let mut stale: Vec<StaleTable> = tables
        .into_iter()
        .filter_map(|t| {
            let target = model.freshness_target(&t.table_name);
            let last_success = t.last_success_finished_at.or(t.last_success_started_at);
            last_success
                .is_none_or(|at| now - at > target)
                .then_some(StaleTable {
                    warehouse_type: t.warehouse_type,
                    table: t.table_name,
                    last_success,
                    target,
                })
        })
        .collect();
    stale.sort_by_key(|t| t.last_success);
    Ok((stale, cut))
}

/// Per semantic type: columns typed in the window (from `typed_columns`), and of those
/// the ones an agent confirmed wrong in a report filed in the window.
fn accuracy(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Vec<TypeAccuracy>> {
    let counts = rollups::typed_counts(conn, since, now)?;
    let confirmed: Vec<(Option<String>, String, String)> = tickets::table
        .filter(tickets::created_at.ge(since))
        .filter(tickets::drill.eq(LIVE))
        .filter(tickets::category.eq(Category::WrongColumnType))
        .filter(tickets::type_verdict.eq(TypeVerdict::Confirmed))
        .filter(tickets::table_name.is_not_null())
        .filter(tickets::column_name.is_not_null())
        .select((
            tickets::warehouse_type,
            tickets::table_name.assume_not_null(),
            tickets::column_name.assume_not_null(),
        ))
        .load(conn)?;
    let tables: Vec<String> = confirmed.iter().map(|(_, t, _)| t.clone()).collect();
    let candidates: Vec<(ColumnKey, String)> = if tables.is_empty() {
        Vec::new()
    } else {
        rollups::typed_in_tables(conn, &tables, since, now)?
            .into_iter()
            .map(|c| {
                (
                    (c.warehouse_type.to_string(), c.table_name, c.column_name),
                    c.semantic_type,
                )
            })
            .collect()
    };
    Ok(run_stats::type_accuracy_of_counts(
        &counts,
        &candidates,
        &confirmed,
    ))
}
