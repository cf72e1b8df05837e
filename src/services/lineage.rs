//! Storing an OpenLineage event and folding its run's events into the run record.

use crate::db::models::lineage_event::LineageEventRow;
use crate::db::{DbConnection, write_transaction};
use crate::domain::lineage::{self, EventType, LineageEvent};
use crate::domain::run::RunStatus;
use crate::domain::run_record::{self, RunRecord};
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::services::runs::{self, Finished, Stored};
use crate::telemetry::metrics;

/// What an event did to its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The run record was created or changed; its status now.
    Stored(Stored, RunStatus),
    /// Kept, but no event of the run has named its table yet, so there is no record.
    Pending,
}

/// Keep the event and fold every event of its run into the run record, in one
/// transaction; count it in the run metrics after commit. Returns the record as stored.
pub fn ingest(
    conn: &mut DbConnection,
    event: &LineageEvent,
    received_at: chrono::NaiveDateTime,
) -> Result<(Outcome, Option<RunRecord>), AppError> {
    let (outcome, count) = write_transaction(conn, |conn| -> Result<_, AppError> {
        LineageEventRow::lock_run(conn, &event.run_id)?;
        let new_event = LineageEventRow::replace(conn, &LineageEventRow::new(event, received_at))?;
        let events = LineageEventRow::for_run(conn, &event.run_id)?
            .iter()
            .map(LineageEventRow::to_event)
            .collect::<Result<Vec<_>, _>>()
            .map_err(AppError::internal_msg)?;
        let Some(record) = lineage::fold(&events) else {
            return Ok(((Outcome::Pending, None), Count::default()));
        };
        // The run's events together must still make a run (no longer than a run lasts):
        // refused, this event is not kept either.
        if let Some((_, message)) =
            run_record::check_times(record.started_at, record.finished_at, received_at)
                .into_iter()
                .next()
        {
            return Err(AppError::invalid(
                "eventTime",
                format!("with the run's other events: {message}"),
            ));
        }
        let (stored, finished) =
            runs::store_one(conn, &record, received_at, crate::domain::drill::LIVE)?;
        let has_start = events.iter().any(|e| e.event_type == EventType::Start);
        let late_start = new_event && event.event_type == EventType::Start;
        let count = Count::of(finished, has_start, late_start, &record);
        Ok((
            (Outcome::Stored(stored, record.status), Some(record)),
            count,
        ))
    })?;
    runs::count_finished(count.finished.iter());
    if let Some((warehouse_type, ms)) = count.late_duration {
        metrics::run_duration(warehouse_type.as_str(), ms);
    }
    Ok(outcome)
}

/// What an event adds to the run metrics.
#[derive(Debug, Default, PartialEq)]
struct Count {
    /// The run reached an end status: its outcome, and its duration when it has a START.
    finished: Option<Finished>,
    /// The START of a run already counted as ended: now its duration is known.
    late_duration: Option<(WarehouseType, i64)>,
}

impl Count {
    fn of(
        finished: Option<Finished>,
        has_start: bool,
        new_start: bool,
        record: &RunRecord,
    ) -> Count {
        let late = finished.is_none() && new_start && record.status != RunStatus::Running;
        Count {
            finished: finished.map(|f| Finished {
                duration_ms: f.duration_ms.filter(|_| has_start),
                ..f
            }),
            late_duration: late
                .then(|| record.duration_ms())
                .flatten()
                .map(|ms| (record.warehouse_type, ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::table::TableName;

    fn record(status: RunStatus) -> RunRecord {
        let at = chrono::NaiveDateTime::default();
        RunRecord {
            run_id: "r".into(),
            warehouse_type: WarehouseType::Duckdb,
            table: TableName::parse("a.b.c", None).unwrap(),
            status,
            started_at: at,
            finished_at: Some(at + chrono::TimeDelta::seconds(90)),
            error: None,
            row_count: None,
            columns: Vec::new(),
        }
    }

    fn finished(duration_ms: i64) -> Option<Finished> {
        Some(Finished {
            warehouse_type: WarehouseType::Duckdb,
            status: RunStatus::Succeeded,
            duration_ms: Some(duration_ms),
        })
    }

    #[test]
    fn a_duration_counts_once_the_start_is_known() {
        let done = record(RunStatus::Succeeded);
        // START then COMPLETE: outcome and duration together.
        assert_eq!(
            Count::of(finished(90_000), true, false, &done).finished,
            finished(90_000)
        );
        // COMPLETE first: the outcome now, no duration yet...
        let early = Count::of(finished(0), false, false, &done);
        assert_eq!(early.finished.and_then(|f| f.duration_ms), None);
        // ...then its START brings the duration alone.
        let late = Count::of(None, true, true, &done);
        assert_eq!(
            late,
            Count {
                finished: None,
                late_duration: Some((WarehouseType::Duckdb, 90_000))
            }
        );
        // A repeated START or COMPLETE adds nothing.
        assert_eq!(Count::of(None, true, false, &done), Count::default());
        assert_eq!(
            Count::of(None, true, true, &record(RunStatus::Running)),
            Count::default()
        );
    }
}
