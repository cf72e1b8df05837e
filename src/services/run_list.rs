//! Browsing run records: filters (warehouse type, status, table prefix, time window),
//! keyset pages newest first, and one run with everything linked to it.

use chrono::{DateTime, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::DbConnection;
use crate::db::models::lineage_event::LineageEventRow;
use crate::db::models::run::{Run, RunColumn};
use crate::db::models::ticket_run::{LinkedTicket, TicketRun};
use crate::db::schema::runs;
use crate::domain::report::{Checker, FieldErrors};
use crate::domain::run::RunStatus;
use crate::domain::warehouse::WarehouseType;
use crate::domain::window::Window;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;
/// The window when none is asked for.
pub const DEFAULT_WINDOW: Window = Window::Week;

/// The runs page's query parameters as received.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(default)]
pub struct RawRunQuery {
    pub warehouse_type: Option<String>,
    pub status: Option<String>,
    pub table: Option<String>,
    pub window: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// A parsed runs query.
#[derive(Debug, Clone, PartialEq)]
pub struct RunQuery {
    pub warehouse_type: Option<WarehouseType>,
    pub status: Option<RunStatus>,
    /// Tables whose name starts with this, ignoring case.
    pub table: Option<String>,
    pub window: Window,
    pub limit: i64,
    /// The (started_at, run_id) the previous page ended at.
    pub cursor: Option<(NaiveDateTime, String)>,
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `<microseconds since the epoch>_<run id>`.
pub fn encode_cursor(started_at: NaiveDateTime, run_id: &str) -> String {
    format!("{}_{run_id}", started_at.and_utc().timestamp_micros())
}

fn decode_cursor(text: &str) -> Result<(NaiveDateTime, String), String> {
    let bad = || "cursor is not one this page made; start from the first page".to_string();
    let (micros, id) = text.split_once('_').ok_or_else(bad)?;
    let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?)
        .ok_or_else(bad)?
        .naive_utc();
    Ok((at, id.to_string()))
}

impl RunQuery {
    pub fn parse(raw: &RawRunQuery) -> Result<RunQuery, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut check = Checker(&mut errors);
        let warehouse_type = check.field(
            "warehouse_type",
            present(&raw.warehouse_type)
                .map(WarehouseType::parse)
                .transpose(),
        );
        let status = check.field(
            "status",
            present(&raw.status).map(RunStatus::parse).transpose(),
        );
        let table = check.field(
            "table",
            match present(&raw.table) {
                Some(t) if t.chars().count() > 800 => Err("at most 800 characters".to_string()),
                other => Ok(other.map(str::to_string)),
            },
        );
        let window = check.field(
            "window",
            present(&raw.window).map_or(Ok(DEFAULT_WINDOW), Window::parse),
        );
        let limit = check.field(
            "limit",
            present(&raw.limit).map_or(Ok(DEFAULT_LIMIT), |l| match l.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                _ => Err(format!("limit is a number from 1 to {MAX_LIMIT}")),
            }),
        );
        let cursor = check.field(
            "cursor",
            present(&raw.cursor).map(decode_cursor).transpose(),
        );
        match (warehouse_type, status, table, window, limit, cursor) {
            (
                Some(warehouse_type),
                Some(status),
                Some(table),
                Some(window),
                Some(limit),
                Some(cursor),
            ) => Ok(RunQuery {
                warehouse_type,
                status,
                table,
                window,
                limit,
                cursor,
            }),
            _ => Err(errors),
        }
    }
}

/// One page of runs, newest first.
pub struct Page {
    pub runs: Vec<Run>,
    pub next_cursor: Option<String>,
}

pub fn search(conn: &mut DbConnection, query: &RunQuery, now: NaiveDateTime) -> QueryResult<Page> {
    // Runs are indexed by (warehouse type, start), not by start alone: every run written
    // paid for a second time index (a good share of the pages NDJSON ingest wrote), and the
    // list is read far less often than runs arrive. So: one walk per warehouse type,
    // newest first, merged here; each stops after a page's worth.
    let warehouses = match query.warehouse_type {
        Some(w) => vec![w],
        None => WarehouseType::ALL.to_vec(),
    };
    let mut rows: Vec<Run> = Vec::new();
    for warehouse in warehouses {
        rows.extend(walk(conn, query, warehouse, now)?);
    }
    rows.sort_by(|a, b| (b.started_at, &b.run_id).cmp(&(a.started_at, &a.run_id)));
    let more = rows.len() as i64 > query.limit;
    rows.truncate(query.limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|r| encode_cursor(r.started_at, &r.run_id)))
        .flatten();
    Ok(Page {
        runs: rows,
        next_cursor,
    })
}

/// One warehouse type's runs matching the query, newest first from the cursor on: one
/// more than a page, to see if there is a next one.
fn walk(
    conn: &mut DbConnection,
    query: &RunQuery,
    warehouse: WarehouseType,
    now: NaiveDateTime,
) -> QueryResult<Vec<Run>> {
    // Drills' runs stay off the list: they are reached from their drill's report.
    let mut q = runs::table
        .filter(runs::drill.eq(crate::domain::drill::LIVE))
        .filter(runs::warehouse_type.eq(warehouse))
        .into_boxed();
    if let Some(s) = query.status {
        q = q.filter(runs::status.eq(s));
    }
    if let Some(table) = &query.table {
        let pattern = format!(
            "{}%",
            table
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        q = q.filter(lower(runs::table_name).like(pattern).escape('\\'));
    }
    if let Some(since) = query.window.since(now) {
        q = q.filter(runs::started_at.ge(since));
    }
    if let Some((at, id)) = &query.cursor {
        q = q.filter(
            runs::started_at
                .lt(*at)
                .or(runs::started_at.eq(*at).and(runs::run_id.lt(id.clone()))),
        );
    }
    q.order((runs::started_at.desc(), runs::run_id.desc()))
        .select(Run::as_select())
        .limit(query.limit + 1)
        .load(conn)
}

/// One run and what hangs off it.
pub struct RunDetail {
    pub run: Run,
    pub columns: Vec<RunColumn>,
    pub tickets: Vec<LinkedTicket>,
    pub events: Vec<LineageEventRow>,
}

/// None when the desk has no such run.
pub fn detail(conn: &mut DbConnection, run_id: &str) -> QueryResult<Option<RunDetail>> {
    let Some(run) = Run::find(conn, run_id)? else {
        return Ok(None);
    };
    Ok(Some(RunDetail {
        columns: run.columns()?,
        tickets: TicketRun::tickets_for_run(conn, run_id)?,
        events: LineageEventRow::for_run(conn, run_id)?,
        run,
    }))
}
