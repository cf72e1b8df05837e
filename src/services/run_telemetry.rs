//! Reading what `/telemetry` shows for one window. Every query is bounded by the window
//! (runs by `started_at`, through the `runs_started` and `runs_warehouse_started`
//! indexes; reports by `created_at`), so its cost follows the window, not the history.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::models::run::Run;
use crate::db::schema::{run_columns, runs, tickets};
use crate::domain::category::Category;
use crate::domain::drill::LIVE;
use crate::domain::run::RunStatus;
use crate::domain::run_stats::{self, ColumnKey, RunSample, TypeAccuracy, WarehouseStats};
use crate::domain::support_model::SupportModel;
use crate::domain::warehouse::WarehouseType;
use crate::domain::window::Window;

/// Tables checked for staleness at most; beyond it the page says the list was cut.
const MAX_STALE_CANDIDATES: usize = 2_000;

/// A table profiled in the window whose last success is older than its target.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleTable {
    pub warehouse_type: String,
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
pub fn read(
    conn: &mut DbConnection,
    model: &SupportModel,
    window: Window,
    bars: usize,
    now: NaiveDateTime,
) -> QueryResult<Telemetry> {
    let since = window.since(now).unwrap_or(now - TimeDelta::days(7));
    let rows: Vec<(String, String, NaiveDateTime, Option<i64>)> = runs::table
        .filter(runs::started_at.ge(since))
        .filter(runs::started_at.le(now))
        .filter(runs::drill.eq(LIVE))
        .select((
            runs::warehouse_type,
            runs::status,
            runs::started_at,
            runs::duration_ms,
        ))
        .load(conn)?;
    let samples: Vec<RunSample> = rows
        .into_iter()
        .filter_map(|(w, s, started_at, duration_ms)| {
            Some(RunSample {
                warehouse_type: WarehouseType::parse(&w).ok()?,
                status: RunStatus::parse(&s).ok()?,
                started_at,
                duration_ms,
            })
        })
        .collect();
    let (stale, stale_cut) = stale_tables(conn, model, since, now)?;
    Ok(Telemetry {
        since,
        warehouses: run_stats::summarize(&samples, since, now, bars),
        stale,
        stale_cut,
        accuracy: accuracy(conn, since, now)?,
    })
}

/// Tables profiled in the window whose last successful run (looked up per table through
/// the `(table_name, warehouse_type, started_at)` index) is older than the freshness
/// target, or that never succeeded. Oldest success first.
fn stale_tables(
    conn: &mut DbConnection,
    model: &SupportModel,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<(Vec<StaleTable>, bool)> {
    let mut tables: Vec<(String, String)> = runs::table
        .filter(runs::started_at.ge(since))
        .filter(runs::started_at.le(now))
        .filter(runs::drill.eq(LIVE))
        .select((runs::warehouse_type, runs::table_name))
        .distinct()
        .order((runs::warehouse_type, runs::table_name))
        .limit(MAX_STALE_CANDIDATES as i64 + 1)
        .load(conn)?;
    let cut = tables.len() > MAX_STALE_CANDIDATES;
    tables.truncate(MAX_STALE_CANDIDATES);
    let mut stale = Vec::new();
    for (warehouse_type, table) in tables {
        let last_success = Run::last_success(conn, &table, Some(&warehouse_type), now)?;
        let target = model.freshness_target(&table);
        if last_success.is_none_or(|at| now - at > target) {
            stale.push(StaleTable {
                warehouse_type,
                table,
                last_success,
                target,
            });
        }
    }
    stale.sort_by_key(|t| t.last_success);
    Ok((stale, cut))
}

fn accuracy(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Vec<TypeAccuracy>> {
    let typed: Vec<(String, String, String, String)> = run_columns::table
        .inner_join(runs::table)
        .filter(runs::started_at.ge(since))
        .filter(runs::started_at.le(now))
        .filter(runs::drill.eq(LIVE))
        .filter(run_columns::semantic_type.is_not_null())
        .select((
            runs::warehouse_type,
            runs::table_name,
            run_columns::column_name,
            run_columns::semantic_type.assume_not_null(),
        ))
        .distinct()
        .load(conn)?;
    let typed: Vec<(ColumnKey, String)> = typed
        .into_iter()
        .map(|(w, t, c, s)| ((w, t, c), s))
        .collect();
    let confirmed: Vec<(Option<String>, String, String)> = tickets::table
        .filter(tickets::created_at.ge(since))
        .filter(tickets::drill.eq(LIVE))
        .filter(tickets::category.eq(Category::WrongColumnType.as_str()))
        .filter(tickets::type_verdict.eq("confirmed"))
        .filter(tickets::table_name.is_not_null())
        .filter(tickets::column_name.is_not_null())
        .select((
            tickets::warehouse_type,
            tickets::table_name.assume_not_null(),
            tickets::column_name.assume_not_null(),
        ))
        .load(conn)?;
    Ok(run_stats::type_accuracy(&typed, &confirmed))
}
