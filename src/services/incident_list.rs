//! The open incidents as agents survey them on `/incidents`: what opened each, how many
//! reports it gathers, its latest public update and its age.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::db::models::signal_incident::SignalIncident;
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::incidents;
use crate::state::Desk;

/// One open incident, in words.
#[derive(Debug, Clone)]
pub struct IncidentRow {
    pub number: TicketNumber,
    /// What it is about, as the known-issue banner says it.
    pub headline: String,
    /// What opened it: the threshold rule's reading, or the agent who declared it.
    pub signal: String,
    pub reports: usize,
    /// The owning team's display name.
    pub team: String,
    pub opened_at: NaiveDateTime,
    /// The latest public update and when it was posted.
    pub latest_update: Option<(String, NaiveDateTime)>,
}

/// A threshold rule's kind as people say it.
fn signal_words(signal: &SignalIncident) -> String {
    let what = match signal.signal.as_str() {
        "failure_rate" => "Failure rate over its threshold",
        "critical_timeout" => "Critical tables timing out",
        "duration_regression" => "Runs slower than usual",
        "report_burst" => "A burst of reports",
        _ => "A threshold rule",
    };
    format!(
        "{what} on {}: {}",
        signal.warehouse_type.label(),
        signal.measurement
    )
}

/// Every open incident of this desk (a drill's desk: the drill's), newest first.
pub fn open(conn: &mut DbConnection, desk: &Desk) -> Result<Vec<IncidentRow>, AppError> {
    let mut rows: Vec<IncidentRow> = incidents::open_incidents(conn, desk.drill)?
        .iter()
        .map(|i| {
            let known = incidents::known_issue(desk, i);
            let signal = match (&i.signal, &i.declared_by) {
                (Some(signal), _) => signal_words(signal),
                (None, Some(actor)) => format!("Declared by {actor}"),
                (None, None) => "Declared by an agent".to_string(),
            };
            IncidentRow {
                number: known.number,
                headline: known.headline,
                signal,
                reports: known.reports,
                team: known.team,
                opened_at: i.opened_at,
                latest_update: known.latest_update,
            }
        })
        .collect();
    rows.reverse();
    Ok(rows)
}
