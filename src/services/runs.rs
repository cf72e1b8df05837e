//! Storing profiling run records.

use crate::db::models::run::{Run, RunColumn};
use crate::db::{DbConnection, write_transaction};
use crate::domain::run::RunStatus;
use crate::domain::run_record::RunRecord;
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::services::rollups;
use crate::telemetry::metrics;

/// Whether a record was new or replaced a stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Created,
    Updated,
}

/// A run that reached an end status with a write: what the run metrics count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finished {
    pub warehouse_type: WarehouseType,
    pub status: RunStatus,
    pub duration_ms: Option<i64>,
}

/// Store a batch of records in one transaction; the same run id later in the batch wins.
/// `drill` tags the runs of a drill (`drill::LIVE` for real ones); only real runs count in
/// the run metrics.
pub fn store(
    conn: &mut DbConnection,
    records: &[RunRecord],
    received_at: chrono::NaiveDateTime,
    drill: i64,
) -> Result<Vec<Stored>, AppError> {
    let results = again_after_a_race(|| {
        write_transaction(conn, |conn| store_all(conn, records, received_at, drill))
    })?;
    Ok(counted(results, drill))
}

/// Another request stored one of these new run ids between our read and our insert
/// (PostgreSQL runs writers side by side; SQLite's one writer cannot race): everything
/// rolled back, and the second try sees the run and replaces it, as a repeat is meant to.
fn again_after_a_race<T>(mut attempt: impl FnMut() -> Result<T, AppError>) -> Result<T, AppError> {
    match attempt() {
        Err(e) if e.is_db_conflict() => attempt(),
        other => other,
    }
}

/// The stored outcomes; real runs that finished count in the run metrics.
fn counted(results: Vec<(Stored, Option<Finished>)>, drill: i64) -> Vec<Stored> {
    let (stored, finished): (Vec<Stored>, Vec<Option<Finished>>) = results.into_iter().unzip();
    if drill == crate::domain::drill::LIVE {
        count_finished(finished.iter().flatten());
    }
    stored
}

/// `store` for a request. On SQLite the records join the writer's next batch (see
/// `db::write_grouped`): single runs posted side by side share a commit, and an NDJSON
/// batch is written on the writer's connection, whose page cache is warm, instead of a
/// pooled one whose cache SQLite dropped after the last commit elsewhere (measurably
/// faster for NDJSON batches). A batch is all or nothing either way: the writer
/// rolls back each piece on its own. On PostgreSQL this is `store`.
pub fn store_grouped(
    pool: &crate::db::DbPool,
    conn: &mut DbConnection,
    records: &[RunRecord],
    received_at: chrono::NaiveDateTime,
    drill: i64,
) -> Result<Vec<Stored>, AppError> {
    let results = again_after_a_race(|| {
        let owned = records.to_vec();
        crate::db::write_grouped(pool, conn, move |conn| {
            store_all(conn, &owned, received_at, drill)
        })
    })?;
    Ok(counted(results, drill))
}

/// A batch in a handful of statements: the stored statuses of its run ids in one query,
/// the new runs (each with its columns) in multi-row inserts, replaced runs one by one. A
/// batch naming a run id twice goes record by record, so the later one wins as documented.
fn store_all(
    conn: &mut DbConnection,
    records: &[RunRecord],
    received_at: chrono::NaiveDateTime,
    drill: i64,
) -> Result<Vec<(Stored, Option<Finished>)>, AppError> {
    let ids: Vec<&str> = records.iter().map(|r| r.run_id.as_str()).collect();
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != ids.len() {
        return records
            .iter()
            .map(|record| store_one(conn, record, received_at, drill))
            .collect();
    }
    let previous = Run::previous(conn, &ids)?;
    let mut new_runs = Vec::new();
    for record in records {
        let run = to_row(record, received_at, drill);
        if previous.contains_key(&record.run_id) {
            Run::replace(conn, &run)?;
        } else {
            new_runs.push(run);
        }
    }
    Run::insert_many(conn, &new_runs)?;
    rollups::runs_written(conn, records, &previous, drill)?;
    Ok(records
        .iter()
        .map(|record| {
            let before = previous.get(&record.run_id).map(|p| p.status.as_str());
            (
                if before.is_none() {
                    Stored::Created
                } else {
                    Stored::Updated
                },
                finished(record, before),
            )
        })
        .collect())
}

/// A run is finished by a write when it now has an end status it did not have before.
fn finished(record: &RunRecord, before: Option<&str>) -> Option<Finished> {
    (record.status != RunStatus::Running && before != Some(record.status.as_str())).then_some(
        Finished {
            warehouse_type: record.warehouse_type,
            status: record.status,
            duration_ms: record.duration_ms(),
        },
    )
}

/// Insert or replace one record. Call inside a transaction, and `count_finished` after
/// it commits. A run is finished by this write when it now has an end status it did not
/// have before, so repeated records are counted once.
pub fn store_one(
    conn: &mut DbConnection,
    record: &RunRecord,
    received_at: chrono::NaiveDateTime,
    drill: i64,
) -> Result<(Stored, Option<Finished>), AppError> {
    let mut stored = store_all(conn, std::slice::from_ref(record), received_at, drill)?;
    stored
        .pop()
        .ok_or_else(|| AppError::internal_msg("storing one run gave no outcome".to_string()))
}

/// Count committed finished runs in the run metrics.
pub fn count_finished<'a>(finished: impl IntoIterator<Item = &'a Finished>) {
    for f in finished {
        metrics::run_finished(f.warehouse_type.as_str(), f.status, f.duration_ms);
    }
}

fn to_row(record: &RunRecord, received_at: chrono::NaiveDateTime, drill: i64) -> Run {
    let columns: Vec<RunColumn> = record
        .columns
        .iter()
        .map(|c| RunColumn {
            column_name: c.name.clone(),
            semantic_type: c.semantic_type.clone(),
            confidence: c.confidence,
        })
        .collect();
    Run {
        run_id: record.run_id.clone(),
        warehouse_type: record.warehouse_type,
        table_name: record.table.as_str().to_string(),
        status: record.status,
        started_at: record.started_at,
        finished_at: record.finished_at,
        duration_ms: record.duration_ms(),
        error: record.error.clone(),
        received_at,
        row_count: record.row_count,
        drill,
        profiled_columns: RunColumn::encode(&columns),
    }
}
