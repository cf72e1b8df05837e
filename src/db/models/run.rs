//! `runs`: profiling run records sent by the profiler, each with its columns.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::db::schema::runs;
use ref_cast::RefCast;

use crate::db::unnest::unnest_insert;
use crate::db::{DbConnection, Stamp};
use crate::domain::run::RunStatus;
use crate::domain::warehouse::WarehouseType;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = runs, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Run {
    pub run_id: String,
    pub warehouse_type: WarehouseType,
    pub table_name: String,
    pub status: RunStatus,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub received_at: NaiveDateTime,
    /// Rows the profiler counted, when it says.
    pub row_count: Option<i64>,
    /// The drill that posted this run, or `LIVE` (0) for real runs.
    pub drill: i64,
    /// The run's columns, `RunColumn::encode`d; None when it reported none.
    pub profiled_columns: Option<String>,
}

/// A `Run` as inserted: its timestamps bound as `Stamp`s (see `db::Stamp`).
#[derive(Insertable)]
#[diesel(table_name = runs, treat_none_as_null = true, treat_none_as_default_value = false)]
struct NewRunRow<'a> {
    run_id: &'a str,
    warehouse_type: WarehouseType,
    table_name: &'a str,
    status: RunStatus,
    started_at: &'a Stamp,
    finished_at: Option<&'a Stamp>,
    duration_ms: Option<i64>,
    error: Option<&'a str>,
    received_at: &'a Stamp,
    row_count: Option<i64>,
    drill: i64,
    profiled_columns: Option<&'a str>,
}

impl<'a> NewRunRow<'a> {
    fn of(run: &'a Run) -> NewRunRow<'a> {
        NewRunRow {
            run_id: &run.run_id,
            warehouse_type: run.warehouse_type,
            table_name: &run.table_name,
            status: run.status,
            started_at: Stamp::ref_cast(&run.started_at),
            finished_at: run.finished_at.as_ref().map(Stamp::ref_cast),
            duration_ms: run.duration_ms,
            error: run.error.as_deref(),
            received_at: Stamp::ref_cast(&run.received_at),
            row_count: run.row_count,
            drill: run.drill,
            profiled_columns: run.profiled_columns.as_deref(),
        }
    }
}

unnest_insert!(
    /// A batch of runs (an NDJSON request) as one PostgreSQL statement.
    UnnestRuns<'a> from Run as run, "runs",
    {
        run_id: Text => &'a str = &run.run_id,
        warehouse_type: Text => &'a str = run.warehouse_type.as_str(),
        table_name: Text => &'a str = &run.table_name,
        status: Text => &'a str = run.status.as_str(),
        started_at: Timestamp => NaiveDateTime = run.started_at,
        finished_at: Nullable<Timestamp> => Option<NaiveDateTime> = run.finished_at,
        duration_ms: Nullable<BigInt> => Option<i64> = run.duration_ms,
        error: Nullable<Text> => Option<&'a str> = run.error.as_deref(),
        received_at: Timestamp => NaiveDateTime = run.received_at,
        row_count: Nullable<BigInt> => Option<i64> = run.row_count,
        drill: BigInt => i64 = run.drill,
        profiled_columns: Nullable<Text> => Option<&'a str> = run.profiled_columns.as_deref(),
    }
);

/// A column of a run as the profiler typed it. Stored with the run, as a JSON array
/// (`runs.profiled_columns`): a run's columns are only ever read whole, and one row each
/// cost more to write than the run itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunColumn {
    #[serde(rename = "name")]
    pub column_name: String,
    pub semantic_type: Option<String>,
    pub confidence: Option<f64>,
}

impl RunColumn {
    /// The stored form of a run's columns: None for none.
    pub fn encode(columns: &[RunColumn]) -> Option<String> {
        if columns.is_empty() {
            return None;
        }
        // Strings, options and floats (a non-finite one would be written as null): this
        // cannot fail.
        serde_json::to_string(columns).ok()
    }

    /// A run's stored columns, by name.
    pub fn decode(stored: Option<&str>) -> Result<Vec<RunColumn>, serde_json::Error> {
        let mut columns: Vec<RunColumn> = match stored {
            Some(text) => serde_json::from_str(text)?,
            None => Vec::new(),
        };
        columns.sort_by(|a, b| a.column_name.cmp(&b.column_name));
        Ok(columns)
    }
}

/// Run ids per `IN (…)` lookup: well inside SQLite's and PostgreSQL's bind limits.
const CHUNK: usize = 500;

/// What a stored run counted for before a new record replaces it.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Previous {
    pub run_id: String,
    pub warehouse_type: WarehouseType,
    pub status: RunStatus,
    pub started_at: NaiveDateTime,
    pub duration_ms: Option<i64>,
    pub drill: i64,
}

type PreviousColumns = (
    runs::run_id,
    runs::warehouse_type,
    runs::status,
    runs::started_at,
    runs::duration_ms,
    runs::drill,
);

const PREVIOUS: PreviousColumns = (
    runs::run_id,
    runs::warehouse_type,
    runs::status,
    runs::started_at,
    runs::duration_ms,
    runs::drill,
);

impl Run {
    /// The stored record of each of these run ids that exists.
    pub fn previous(
        conn: &mut DbConnection,
        run_ids: &[&str],
    ) -> QueryResult<std::collections::HashMap<String, Previous>> {
        let mut found = std::collections::HashMap::new();
        if let [one] = run_ids {
            let row: Option<Previous> = runs::table
                .find(one)
                .select(PREVIOUS)
                .first(conn)
                .optional()?;
            found.extend(row.map(|p| (p.run_id.clone(), p)));
            return Ok(found);
        }
        for chunk in run_ids.chunks(CHUNK) {
            let rows: Vec<Previous> = runs::table
                .filter(runs::run_id.eq_any(chunk))
                .select(PREVIOUS)
                .load(conn)?;
            found.extend(rows.into_iter().map(|p| (p.run_id.clone(), p)));
        }
        Ok(found)
    }

    /// Insert new runs (none stored yet): on PostgreSQL a whole batch in one kept
    /// statement (`db::unnest`); on SQLite one by one through the kept single-row
    /// statement (`db::row_by_row` says why), on its own connection.
    pub fn insert_many(conn: &mut DbConnection, runs: &[Run]) -> QueryResult<()> {
        match conn {
            DbConnection::Postgres(pg) => {
                UnnestRuns::insert(pg, runs)?;
            }
            DbConnection::Sqlite(c) => {
                for run in runs {
                    diesel::insert_into(runs::table)
                        .values(NewRunRow::of(run))
                        .execute(c)?;
                }
            }
        }
        Ok(())
    }

    /// Replace a stored run's record, columns and all.
    pub fn replace(conn: &mut DbConnection, run: &Run) -> QueryResult<()> {
        diesel::update(runs::table.find(&run.run_id))
            .set(run)
            .execute(conn)?;
        Ok(())
    }

    pub fn find(conn: &mut DbConnection, run_id: &str) -> QueryResult<Option<Run>> {
        runs::table
            .find(run_id)
            .select(Run::as_select())
            .first(conn)
            .optional()
    }

    /// The most recent runs of a table that started at or before `before`, newest first.
    pub fn recent_for_table(
        conn: &mut DbConnection,
        table: &str,
        warehouse_type: Option<&str>,
        before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<Run>> {
        let mut query = runs::table
            .filter(runs::table_name.eq(table))
            .filter(runs::started_at.le(before))
            .select(Run::as_select())
            .order(runs::started_at.desc())
            .limit(limit)
            .into_boxed();
        if let Some(w) = warehouse_type {
            query = query.filter(runs::warehouse_type.eq(w));
        }
        query.load(conn)
    }

    /// When the table was last profiled successfully (started at or before `before`).
    pub fn last_success(
        conn: &mut DbConnection,
        table: &str,
        warehouse_type: Option<&str>,
        before: NaiveDateTime,
    ) -> QueryResult<Option<NaiveDateTime>> {
        let mut query = runs::table
            .filter(runs::table_name.eq(table))
            .filter(runs::status.eq(RunStatus::Succeeded))
            .filter(runs::started_at.le(before))
            .select(runs::finished_at)
            .order(runs::started_at.desc())
            .into_boxed();
        if let Some(w) = warehouse_type {
            query = query.filter(runs::warehouse_type.eq(w));
        }
        Ok(query
            .first::<Option<NaiveDateTime>>(conn)
            .optional()?
            .flatten())
    }

    /// The run's columns, by name.
    pub fn columns(&self) -> QueryResult<Vec<RunColumn>> {
        RunColumn::decode(self.profiled_columns.as_deref())
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
    }

    pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
        runs::table.count().get_result(conn)
    }
}
