//! Telemetry roll-ups, kept in step with the runs in the transaction that stores them:
//! per warehouse type and hour (counts and a duration histogram), per table (last run, last
//! success) and per typed column (last typed). `/telemetry` reads these instead of every
//! run of a day or a week. Real runs only: a drill's stay out.

use std::collections::{BTreeMap, HashMap};

use chrono::{DurationRound, NaiveDateTime, TimeDelta};
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Nullable, Text, Timestamp};
use ref_cast::RefCast;

use crate::db::models::run::Previous;
use crate::db::schema::{run_hours, runs, table_health, typed_columns};
use crate::db::{DbConnection, FEW_ROWS, Stamp, UpsertRow, upsert};
use crate::domain::drill::LIVE;
use crate::domain::run::RunStatus;
use crate::domain::run_record::RunRecord;
use crate::domain::run_stats::{Histogram, Tally};
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;

/// Rows per multi-row statement.
const CHUNK: usize = 400;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = run_hours)]
#[diesel(treat_none_as_default_value = false)]
pub struct RunHour {
    pub warehouse_type: WarehouseType,
    pub hour: NaiveDateTime,
    pub runs: i64,
    pub running: i64,
    pub failed: i64,
    pub timed_out: i64,
    pub max_ms: Option<i64>,
    pub durations: String,
}

impl RunHour {
    fn tally(&self) -> Result<Tally, AppError> {
        Ok(Tally {
            runs: self.runs,
            running: self.running,
            failed: self.failed,
            timed_out: self.timed_out,
            max_ms: self.max_ms,
            durations: Histogram::decode(&self.durations).map_err(AppError::internal_msg)?,
        })
    }

    fn of(warehouse_type: WarehouseType, hour: NaiveDateTime, t: &Tally) -> RunHour {
        RunHour {
            warehouse_type,
            hour,
            runs: t.runs.max(0),
            running: t.running.max(0),
            failed: t.failed.max(0),
            timed_out: t.timed_out.max(0),
            max_ms: t.max_ms,
            durations: t.durations.encode(),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = table_health)]
pub struct TableHealth {
    pub warehouse_type: WarehouseType,
    pub table_name: String,
    pub last_run_at: NaiveDateTime,
    pub last_success_started_at: Option<NaiveDateTime>,
    pub last_success_finished_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = typed_columns)]
pub struct TypedColumn {
    pub warehouse_type: WarehouseType,
    pub table_name: String,
    pub column_name: String,
    pub semantic_type: String,
    pub last_typed_at: NaiveDateTime,
}

/// An hour's tally replaces the stored one (the caller merged them, holding the hour).
impl<DB> UpsertRow<DB> for RunHour
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Timestamp> + HasSqlType<BigInt>,
    String: ToSql<Text, DB>,
    WarehouseType: ToSql<Text, DB>,
    Stamp: ToSql<Timestamp, DB>,
    i64: ToSql<BigInt, DB>,
    Option<i64>: ToSql<Nullable<BigInt>, DB>,
{
    const INTO: &'static str =
        "run_hours (warehouse_type, hour, runs, running, failed, timed_out, max_ms, durations)";
    const ON_CONFLICT: &'static str = "ON CONFLICT (warehouse_type, hour) DO UPDATE SET \
        runs = excluded.runs, running = excluded.running, failed = excluded.failed, \
        timed_out = excluded.timed_out, max_ms = excluded.max_ms, durations = excluded.durations";

    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_bind_param::<Text, _>(&self.warehouse_type)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(Stamp::ref_cast(&self.hour))?;
        for n in [&self.runs, &self.running, &self.failed, &self.timed_out] {
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(n)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.max_ms)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.durations)
    }
}

/// A table's last run and last success move forward only: concurrent writers cannot
/// undo each other. A row offered with nothing newer leaves the stored one unwritten
/// (runs posted out of order, repeated, or imported from history).
impl<DB> UpsertRow<DB> for TableHealth
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Timestamp>,
    String: ToSql<Text, DB>,
    WarehouseType: ToSql<Text, DB>,
    Stamp: ToSql<Timestamp, DB> + ToSql<Nullable<Timestamp>, DB>,
    Option<Stamp>: ToSql<Nullable<Timestamp>, DB>,
{
    const INTO: &'static str = "table_health (warehouse_type, table_name, last_run_at, \
        last_success_started_at, last_success_finished_at)";
    const ON_CONFLICT: &'static str = "ON CONFLICT (warehouse_type, table_name) DO UPDATE SET \
        last_run_at = CASE WHEN excluded.last_run_at > table_health.last_run_at \
            THEN excluded.last_run_at ELSE table_health.last_run_at END, \
        last_success_started_at = CASE \
            WHEN excluded.last_success_started_at > table_health.last_success_started_at \
                OR table_health.last_success_started_at IS NULL \
            THEN excluded.last_success_started_at \
            ELSE table_health.last_success_started_at END, \
        last_success_finished_at = CASE \
            WHEN excluded.last_success_started_at > table_health.last_success_started_at \
                OR table_health.last_success_started_at IS NULL \
            THEN excluded.last_success_finished_at \
            ELSE table_health.last_success_finished_at END \
        WHERE excluded.last_run_at > table_health.last_run_at \
            OR excluded.last_success_started_at > table_health.last_success_started_at \
            OR (table_health.last_success_started_at IS NULL \
                AND excluded.last_success_started_at IS NOT NULL)";

    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_bind_param::<Text, _>(&self.warehouse_type)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.table_name)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(Stamp::ref_cast(&self.last_run_at))?;
        for at in [
            &self.last_success_started_at,
            &self.last_success_finished_at,
        ] {
            out.push_sql(", ");
            match at {
                Some(at) => out.push_bind_param::<Nullable<Timestamp>, _>(Stamp::ref_cast(at))?,
                None => out.push_bind_param::<Nullable<Timestamp>, Option<Stamp>>(&None)?,
            }
        }
        Ok(())
    }
}

/// A column's latest typing moves forward only; an older one leaves the row unwritten.
impl<DB> UpsertRow<DB> for TypedColumn
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Timestamp>,
    String: ToSql<Text, DB>,
    WarehouseType: ToSql<Text, DB>,
    Stamp: ToSql<Timestamp, DB>,
{
    const INTO: &'static str = "typed_columns (warehouse_type, table_name, column_name, \
        semantic_type, last_typed_at)";
    const ON_CONFLICT: &'static str = "ON CONFLICT (warehouse_type, table_name, column_name, \
        semantic_type) DO UPDATE SET last_typed_at = excluded.last_typed_at \
        WHERE excluded.last_typed_at > typed_columns.last_typed_at";

    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_bind_param::<Text, _>(&self.warehouse_type)?;
        out.push_sql(", ");
        for text in [&self.table_name, &self.column_name, &self.semantic_type] {
            out.push_bind_param::<Text, _>(text)?;
            out.push_sql(", ");
        }
        out.push_bind_param::<Timestamp, _>(Stamp::ref_cast(&self.last_typed_at))
    }
}

pub fn hour_of(at: NaiveDateTime) -> NaiveDateTime {
    at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at)
}

/// Bring the roll-ups in line with `records` just written (`previous`: what the replaced
/// ones were). Call inside the write transaction that stored them.
pub fn runs_written(
    conn: &mut DbConnection,
    records: &[RunRecord],
    previous: &HashMap<String, Previous>,
    drill: i64,
) -> Result<(), AppError> {
    if drill != LIVE || records.is_empty() {
        return Ok(());
    }
    hours(conn, records, previous)?;
    tables(conn, records)?;
    columns(conn, records)
}

/// Each touched hour: its stored tally, minus the replaced records, plus the new ones.
fn hours(
    conn: &mut DbConnection,
    records: &[RunRecord],
    previous: &HashMap<String, Previous>,
) -> Result<(), AppError> {
    let mut deltas: BTreeMap<(WarehouseType, NaiveDateTime), Tally> = BTreeMap::new();
    for record in records {
        if let Some(before) = previous.get(&record.run_id).filter(|p| p.drill == LIVE) {
            deltas
                .entry((before.warehouse_type, hour_of(before.started_at)))
                .or_default()
                .count(before.status, before.duration_ms, -1);
        }
        deltas
            .entry((record.warehouse_type, hour_of(record.started_at)))
            .or_default()
            .count(record.status, record.duration_ms(), 1);
    }
    // PostgreSQL runs writers side by side: each hour's read-modify-write holds a lock of
    // its own (hour number × 16 + warehouse), taken in key order. SQLite has one writer.
    if let DbConnection::Postgres(pg) = conn {
        let mut keys: Vec<i64> = deltas
            .keys()
            .map(|(w, hour)| {
                let index = WarehouseType::ALL.iter().position(|x| x == w).unwrap_or(15) as i64;
                hour.and_utc().timestamp() / 3600 * 16 + index
            })
            .collect();
        keys.sort_unstable();
        for key in keys {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(key)
                .execute(pg)?;
        }
    }
    // The stored hours by primary key: one cached lookup each for the usual handful (an
    // ingest request touches an hour or two), both key columns for a backfill's many.
    let mut stored: HashMap<(WarehouseType, NaiveDateTime), Tally> = HashMap::new();
    let found: Vec<RunHour> = if deltas.len() <= FEW_ROWS {
        let mut rows = Vec::new();
        for (w, hour) in deltas.keys() {
            rows.extend(
                run_hours::table
                    .find((w, hour))
                    .select(RunHour::as_select())
                    .first::<RunHour>(conn)
                    .optional()?,
            );
        }
        rows
    } else {
        let mut warehouses: Vec<WarehouseType> = deltas.keys().map(|(w, _)| *w).collect();
        warehouses.sort_unstable();
        warehouses.dedup();
        let mut hours: Vec<NaiveDateTime> = deltas.keys().map(|(_, h)| *h).collect();
        hours.sort_unstable();
        hours.dedup();
        let mut rows = Vec::new();
        for chunk in hours.chunks(CHUNK) {
            rows.extend(
                run_hours::table
                    .filter(run_hours::warehouse_type.eq_any(&warehouses))
                    .filter(run_hours::hour.eq_any(chunk))
                    .select(RunHour::as_select())
                    .load::<RunHour>(conn)?,
            );
        }
        rows
    };
    for row in found {
        stored.insert((row.warehouse_type, row.hour), row.tally()?);
    }
    let rows: Vec<RunHour> = deltas
        .iter()
        .map(|((w, hour), delta)| {
            let mut tally = stored.remove(&(*w, *hour)).unwrap_or_default();
            tally.merge(delta);
            RunHour::of(*w, *hour, &tally)
        })
        .collect();
    upsert(conn, &rows, CHUNK)?;
    Ok(())
}

/// Each touched table's last run and last success, moved forward only (an UPDATE that
/// keeps the later of the stored and the new instant: concurrent writers cannot undo
/// each other).
fn tables(conn: &mut DbConnection, records: &[RunRecord]) -> Result<(), AppError> {
    let mut latest: BTreeMap<(WarehouseType, String), TableHealth> = BTreeMap::new();
    for r in records {
        let key = (r.warehouse_type, r.table.as_str().to_string());
        let entry = latest.entry(key.clone()).or_insert_with(|| TableHealth {
            warehouse_type: key.0,
            table_name: key.1.clone(),
            last_run_at: r.started_at,
            last_success_started_at: None,
            last_success_finished_at: None,
        });
        entry.last_run_at = entry.last_run_at.max(r.started_at);
        if r.status == RunStatus::Succeeded
            && entry
                .last_success_started_at
                .is_none_or(|at| at < r.started_at)
        {
            entry.last_success_started_at = Some(r.started_at);
            entry.last_success_finished_at = r.finished_at;
        }
    }
    let rows: Vec<TableHealth> = latest.into_values().collect();
    upsert(conn, &rows, CHUNK)?;
    Ok(())
}

/// Each typed column's latest typing, per semantic type.
fn columns(conn: &mut DbConnection, records: &[RunRecord]) -> Result<(), AppError> {
    let mut latest: BTreeMap<(WarehouseType, String, String, String), NaiveDateTime> =
        BTreeMap::new();
    for r in records {
        for c in &r.columns {
            if let Some(semantic) = &c.semantic_type {
                let key = (
                    r.warehouse_type,
                    r.table.as_str().to_string(),
                    c.name.clone(),
                    semantic.clone(),
                );
                let at = latest.entry(key).or_insert(r.started_at);
                *at = (*at).max(r.started_at);
            }
        }
    }
    let rows: Vec<TypedColumn> = latest
        .into_iter()
        .map(|((w, t, c, s), at)| TypedColumn {
            warehouse_type: w,
            table_name: t,
            column_name: c,
            semantic_type: s,
            last_typed_at: at,
        })
        .collect();
    upsert(conn, &rows, CHUNK)?;
    Ok(())
}

/// The hour tallies from `from` (an hour) to `to`, per warehouse type.
pub fn hours_between(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(WarehouseType, NaiveDateTime, Tally)>, AppError> {
    run_hours::table
        .filter(run_hours::hour.ge(from))
        .filter(run_hours::hour.le(to))
        .select(RunHour::as_select())
        .load::<RunHour>(conn)?
        .into_iter()
        .map(|row| row.tally().map(|t| (row.warehouse_type, row.hour, t)))
        .collect()
}

/// Tables profiled in `[since, now]`, by warehouse type and name, at most `limit`.
pub fn tables_profiled(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<TableHealth>> {
    table_health::table
        .filter(table_health::last_run_at.ge(since))
        .filter(table_health::last_run_at.le(now))
        .order((table_health::warehouse_type, table_health::table_name))
        .limit(limit)
        .select(TableHealth::as_select())
        .load(conn)
}

/// Columns typed in `[since, now]`, counted per semantic type.
pub fn typed_counts(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Vec<(String, i64)>> {
    typed_columns::table
        .filter(typed_columns::last_typed_at.ge(since))
        .filter(typed_columns::last_typed_at.le(now))
        .group_by(typed_columns::semantic_type)
        .select((typed_columns::semantic_type, diesel::dsl::count_star()))
        .load(conn)
}

/// Columns typed in `[since, now]` of these tables (names as given, in upper and lower
/// case too: analysts type table names as they like).
pub fn typed_in_tables(
    conn: &mut DbConnection,
    tables: &[String],
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Vec<TypedColumn>> {
    let mut names: Vec<String> = tables
        .iter()
        .flat_map(|t| [t.clone(), t.to_lowercase(), t.to_uppercase()])
        .collect();
    names.sort();
    names.dedup();
    let mut found = Vec::new();
    for chunk in names.chunks(CHUNK) {
        found.extend(
            typed_columns::table
                .filter(typed_columns::table_name.eq_any(chunk))
                .filter(typed_columns::last_typed_at.ge(since))
                .filter(typed_columns::last_typed_at.le(now))
                .select(TypedColumn::as_select())
                .load::<TypedColumn>(conn)?,
        );
    }
    Ok(found)
}

/// Fill `run_hours` from the stored runs when it is empty and there are runs: a database
/// migrated from before the roll-ups. One pass over the runs, a batch at a time.
pub fn backfill(conn: &mut DbConnection) -> Result<usize, AppError> {
    let have_hours = run_hours::table
        .select(run_hours::hour)
        .first::<NaiveDateTime>(conn)
        .optional()?
        .is_some();
    if have_hours {
        return Ok(0);
    }
    let mut tallies: BTreeMap<(WarehouseType, NaiveDateTime), Tally> = BTreeMap::new();
    let mut after = String::new();
    let mut seen = 0;
    loop {
        type Row = (String, WarehouseType, RunStatus, NaiveDateTime, Option<i64>);
        let batch: Vec<Row> = runs::table
            .filter(runs::drill.eq(LIVE))
            .filter(runs::run_id.gt(&after))
            .order(runs::run_id.asc())
            .limit(20_000)
            .select((
                runs::run_id,
                runs::warehouse_type,
                runs::status,
                runs::started_at,
                runs::duration_ms,
            ))
            .load(conn)?;
        let Some(last) = batch.last() else { break };
        after = last.0.clone();
        seen += batch.len();
        for (_, w, status, started_at, duration_ms) in batch {
            tallies
                .entry((w, hour_of(started_at)))
                .or_default()
                .count(status, duration_ms, 1);
        }
    }
    if seen == 0 {
        return Ok(0);
    }
    let rows: Vec<RunHour> = tallies
        .iter()
        .map(|((w, hour), t)| RunHour::of(*w, *hour, t))
        .collect();
    crate::db::write_transaction(conn, |conn| {
        for chunk in rows.chunks(CHUNK) {
            match conn {
                DbConnection::Sqlite(c) => diesel::insert_into(run_hours::table)
                    .values(chunk)
                    .execute(c)?,
                DbConnection::Postgres(c) => diesel::insert_into(run_hours::table)
                    .values(chunk)
                    .execute(c)?,
            };
        }
        Ok::<_, AppError>(())
    })?;
    Ok(seen)
}
