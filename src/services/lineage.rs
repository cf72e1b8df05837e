//! Storing an OpenLineage event and folding its run's events into the run record.

use crate::db::models::lineage_event::LineageEventRow;
use crate::db::{DbConnection, write_transaction};
use crate::domain::lineage::{self, LineageEvent};
use crate::domain::run::RunStatus;
use crate::error::AppError;
use crate::services::runs::{self, Stored};

/// What an event did to its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The run record was created or changed; its status now.
    Stored(Stored, RunStatus),
    /// Kept, but no event of the run has named its table yet, so there is no record.
    Pending,
}

/// Keep the event and fold every event of its run into the run record, in one
/// transaction.
pub fn ingest(
    conn: &mut DbConnection,
    event: &LineageEvent,
    received_at: chrono::NaiveDateTime,
) -> Result<Outcome, AppError> {
    let (outcome, finished) = write_transaction(conn, |conn| -> Result<_, AppError> {
        LineageEventRow::lock_run(conn, &event.run_id)?;
        LineageEventRow::replace(conn, &LineageEventRow::new(event, received_at))?;
        let events = LineageEventRow::for_run(conn, &event.run_id)?
            .iter()
            .map(LineageEventRow::to_event)
            .collect::<Result<Vec<_>, _>>()
            .map_err(AppError::internal_msg)?;
        let Some(record) = lineage::fold(&events) else {
            return Ok((Outcome::Pending, None));
        };
        let (stored, finished) = runs::store_one(conn, &record, received_at)?;
        Ok((Outcome::Stored(stored, record.status), finished))
    })?;
    runs::count_finished(finished.iter());
    Ok(outcome)
}
