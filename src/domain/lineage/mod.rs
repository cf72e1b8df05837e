//! OpenLineage RunEvents from the profiler, and how the events of one run fold into one
//! run record.
//!
//! The fold depends only on the set of events, never on the order they arrived in, so
//! repeated and out-of-order events (a COMPLETE before its START) converge to the same
//! record.

mod facets;
mod parse;
#[cfg(test)]
mod tests;

use chrono::NaiveDateTime;
use std::collections::{HashMap, HashSet};
use std::fmt;

use super::run::RunStatus;
use super::run_record::{ColumnType, MAX_COLUMNS, RunRecord};
use super::table::TableName;
use super::warehouse::WarehouseType;

/// The custom dataset (or run) facet carrying the profiler's semantic types:
/// `{"columns": {"email": {"type": "email", "confidence": 0.97}}}`.
pub const SEMANTIC_TYPES_FACET: &str = "inspect_semanticTypes";

/// The run-state transition an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    Start,
    Running,
    /// Extra metadata for a run; it changes no state.
    Other,
    Complete,
    Fail,
    Abort,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::Start,
        EventType::Running,
        EventType::Other,
        EventType::Complete,
        EventType::Fail,
        EventType::Abort,
    ];

    /// The name OpenLineage uses.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Start => "START",
            EventType::Running => "RUNNING",
            EventType::Other => "OTHER",
            EventType::Complete => "COMPLETE",
            EventType::Fail => "FAIL",
            EventType::Abort => "ABORT",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(value.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown event type '{value}'; expected one of: {}",
                    EventType::ALL.map(EventType::as_str).join(", ")
                )
            })
    }

    /// COMPLETE, FAIL and ABORT end a run.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            EventType::Complete | EventType::Fail | EventType::Abort
        )
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The profiled table, named by an event's input dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub warehouse_type: WarehouseType,
    pub table: TableName,
}

/// What the desk keeps of one OpenLineage RunEvent.
#[derive(Debug, Clone, PartialEq)]
pub struct LineageEvent {
    pub run_id: String,
    pub event_type: EventType,
    /// `eventTime`, in UTC.
    pub event_time: NaiveDateTime,
    pub dataset: Option<Dataset>,
    /// The `errorMessage` run facet's message.
    pub error: Option<String>,
    /// Column names from the `schema` dataset facet, when the event carries one.
    pub schema: Option<Vec<String>>,
    /// Columns from the semantic-types facet, when the event carries one.
    pub semantic_types: Option<Vec<ColumnType>>,
    /// Rows profiled: the profiled dataset's `dataQualityMetrics` input facet or
    /// `outputStatistics` output facet `rowCount`.
    pub row_count: Option<i64>,
}

impl LineageEvent {
    /// Order of events with the same run: by time, then by state (a START sorts before a
    /// COMPLETE sent in the same instant).
    fn order_key(&self) -> (NaiveDateTime, EventType) {
        (self.event_time, self.event_type)
    }
}

/// Does an error message say the run ran out of time? Profilers word it per warehouse:
/// Snowflake "reached its statement or warehouse timeout", PostgreSQL and Redshift
/// "canceling statement due to statement timeout", BigQuery "Job timed out" or "deadline
/// exceeded", Databricks "Query has been timed out".
pub fn looks_like_timeout(message: &str) -> bool {
    let message = message.to_lowercase();
    [
        "timeout",
        "timed out",
        "time out",
        "time-out",
        "deadline exceeded",
        "deadline_exceeded",
        "maximum execution time",
        "execution time limit",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

/// The run record the events of one run add up to, or None while no event has named
/// the profiled table. Events of other runs are ignored.
///
/// - start: the earliest START; without one, the earliest event (until the START comes);
/// - end and status: the latest terminal event (COMPLETE → succeeded, FAIL → failed,
///   ABORT → cancelled; either of the last two → timed_out when its error reads as a
///   timeout); without one the run is running. An end before the start is clamped to it;
/// - table, error, schema and semantic types: from the latest event carrying each (the
///   table from the earliest, so a START's dataset wins).
pub fn fold(events: &[LineageEvent]) -> Option<RunRecord> {
    let run_id = &events.first()?.run_id;
    let mut events: Vec<&LineageEvent> = events.iter().filter(|e| &e.run_id == run_id).collect();
    events.sort_by_key(|e| e.order_key());
    let dataset = events.iter().find_map(|e| e.dataset.as_ref())?;
    let started_at = events
        .iter()
        .find(|e| e.event_type == EventType::Start)
        .or_else(|| events.first())
        .map(|e| e.event_time)?;
    let terminal = events.iter().rev().find(|e| e.event_type.is_terminal());
    let error = terminal.and_then(|t| t.error.clone()).or_else(|| {
        terminal
            .filter(|t| t.event_type != EventType::Complete)
            .and_then(|_| events.iter().rev().find_map(|e| e.error.clone()))
    });
    let status = match terminal.map(|t| t.event_type) {
        None => RunStatus::Running,
        Some(EventType::Complete) => RunStatus::Succeeded,
        Some(_) if error.as_deref().is_some_and(looks_like_timeout) => RunStatus::TimedOut,
        Some(EventType::Abort) => RunStatus::Cancelled,
        Some(_) => RunStatus::Failed,
    };
    let finished_at = terminal.map(|t| t.event_time.max(started_at));
    let schema = events.iter().rev().find_map(|e| e.schema.as_ref());
    let semantic = events.iter().rev().find_map(|e| e.semantic_types.as_ref());
    let row_count = events.iter().rev().find_map(|e| e.row_count);
    Some(RunRecord {
        row_count,
        run_id: run_id.clone(),
        warehouse_type: dataset.warehouse_type,
        table: dataset.table.clone(),
        status,
        started_at,
        finished_at,
        error,
        columns: columns(schema.map(Vec::as_slice), semantic.map(Vec::as_slice)),
    })
}

/// Schema columns in schema order, with their semantic types; then typed columns the
/// schema did not list.
fn columns(schema: Option<&[String]>, semantic: Option<&[ColumnType]>) -> Vec<ColumnType> {
    let semantic = semantic.unwrap_or_default();
    let typed: HashMap<&str, &ColumnType> = semantic.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut out: Vec<ColumnType> = schema
        .unwrap_or_default()
        .iter()
        .map(|name| match typed.get(name.as_str()) {
            Some(column) => (*column).clone(),
            None => ColumnType {
                name: name.clone(),
                semantic_type: None,
                confidence: None,
            },
        })
        .collect();
    let listed: HashSet<String> = out.iter().map(|c| c.name.clone()).collect();
    out.extend(
        semantic
            .iter()
            .filter(|c| !listed.contains(&c.name))
            .cloned(),
    );
    out.truncate(MAX_COLUMNS);
    out
}
