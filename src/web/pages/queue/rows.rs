//! The queue's rows as an agent reads them: labels for every enum, teams and people by
//! name, the report's first line with its table, and the SLA's state beside its deadline.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::db::models::ticket::Ticket;
use crate::domain::severity::Severity;
use crate::domain::status::SlaState;
use crate::domain::support_model::SupportModel;
use crate::domain::text::first_line;

/// Longest summary kept in a row; the cell cuts it to its width, the hover shows the
/// report's whole first paragraph.
const SUMMARY_CHARS: usize = 160;
/// Longest hover text.
const HOVER_CHARS: usize = 600;

/// One row of the queue.
pub struct Row {
    pub id: i64,
    pub number: String,
    pub version: i32,
    pub severity: Severity,
    pub category: &'static str,
    pub status: &'static str,
    /// The status's slug, for the row's data attribute (scripts and styles), never shown.
    pub status_key: &'static str,
    pub team: String,
    /// Who works it, by name; empty: nobody.
    pub assignee: String,
    pub sla_state: &'static str,
    pub sla_label: &'static str,
    /// The deadline the SLA state is about, when its clock runs.
    pub sla_due: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// `database.schema.table` and the column, when the report names them.
    pub table: String,
    pub summary: String,
    /// The report's text as the hover shows it.
    pub full_text: String,
    /// The reporter's name, else their email.
    pub reporter: String,
    pub reporter_email: String,
    pub warehouse: &'static str,
    pub is_incident: bool,
    /// The drill that made it (0: real work).
    pub drill: i64,
}

/// The queue's row for `ticket`; `names` maps user ids to the names people know them by.
pub fn row(
    t: Ticket,
    names: &HashMap<i64, String>,
    model: &SupportModel,
    now: NaiveDateTime,
) -> Row {
    let state = SlaState::of(t.status, t.sla_due_at, t.sla_warn_at, now);
    let clock_runs = matches!(
        state,
        SlaState::Breached | SlaState::AtRisk | SlaState::OnTrack
    );
    let table = match (&t.table_name, &t.column_name) {
        (Some(table), Some(column)) => format!("{table}.{column}"),
        (Some(table), None) => table.clone(),
        _ => String::new(),
    };
    Row {
        id: t.id,
        number: t.number().to_string(),
        version: t.version,
        severity: t.severity,
        category: t.category.label(),
        status: t.status.label(),
        status_key: t.status.as_str(),
        team: model
            .team(&t.team)
            .map_or_else(|| t.team.clone(), |team| team.name.clone()),
        assignee: t
            .assignee_id
            .and_then(|id| names.get(&id).cloned())
            .unwrap_or_default(),
        sla_state: state.as_str(),
        sla_label: state.label(),
        sla_due: clock_runs.then_some(t.sla_due_at),
        created_at: t.created_at,
        summary: first_line(&t.description, SUMMARY_CHARS),
        full_text: t.description.chars().take(HOVER_CHARS).collect(),
        table,
        reporter: t
            .reporter_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| t.reporter_email.clone()),
        reporter_email: t.reporter_email,
        warehouse: t.warehouse_type.map_or("", |w| w.label()),
        is_incident: t.is_incident,
        drill: t.drill,
    }
}
