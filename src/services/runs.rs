//! Storing profiling run records.

use crate::db::models::run::{Run, RunColumn};
use crate::db::{DbConnection, write_transaction};
use crate::domain::run_record::RunRecord;
use crate::error::AppError;

/// Whether a record was new or replaced a stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Created,
    Updated,
}

/// Store a batch of records in one transaction; the same run id later in the batch wins.
pub fn store(
    conn: &mut DbConnection,
    records: &[RunRecord],
    received_at: chrono::NaiveDateTime,
) -> Result<Vec<Stored>, AppError> {
    write_transaction(conn, |conn| {
        records
            .iter()
            .map(|record| store_one(conn, record, received_at))
            .collect()
    })
}

/// Insert or replace one record. Call inside a transaction.
pub fn store_one(
    conn: &mut DbConnection,
    record: &RunRecord,
    received_at: chrono::NaiveDateTime,
) -> Result<Stored, AppError> {
    let (run, columns) = to_rows(record, received_at);
    let created = Run::upsert(conn, &run, &columns)?;
    Ok(if created {
        Stored::Created
    } else {
        Stored::Updated
    })
}

fn to_rows(record: &RunRecord, received_at: chrono::NaiveDateTime) -> (Run, Vec<RunColumn>) {
    let run = Run {
        run_id: record.run_id.clone(),
        warehouse_type: record.warehouse_type.as_str().to_string(),
        table_name: record.table.as_str().to_string(),
        status: record.status.as_str().to_string(),
        started_at: record.started_at,
        finished_at: record.finished_at,
        duration_ms: record.duration_ms(),
        error: record.error.clone(),
        received_at,
    };
    let columns = record
        .columns
        .iter()
        .map(|c| RunColumn {
            run_id: record.run_id.clone(),
            column_name: c.name.clone(),
            semantic_type: c.semantic_type.clone(),
            confidence: c.confidence,
        })
        .collect();
    (run, columns)
}
