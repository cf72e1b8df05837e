//! The open incidents as agents survey them on `/incidents`: what opened each, how many
//! reports it gathers, its latest public update and its age.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::models::signal_incident::SignalIncident;
use crate::db::schema::ticket_events;
use crate::domain::event::EventKind;
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
    let open = incidents::open_incidents(conn, desk.drill)?;
    let headlines = incidents::known_issues(conn, desk)?;
    let ids: Vec<i64> = open.iter().map(|i| i.ticket.id).collect();
    let events: Vec<(i64, EventKind, String, String, NaiveDateTime)> = ticket_events::table
        .filter(ticket_events::ticket_id.eq_any(&ids))
        .filter(
            ticket_events::kind.eq_any([EventKind::IncidentUpdate, EventKind::IncidentDeclared]),
        )
        .order(ticket_events::id.asc())
        .select((
            ticket_events::ticket_id,
            ticket_events::kind,
            ticket_events::actor,
            ticket_events::detail,
            ticket_events::created_at,
        ))
        .load(conn)?;
    let last = |id: i64, kind: EventKind| {
        events
            .iter()
            .rev()
            .find(|(t, k, ..)| *t == id && *k == kind)
    };
    let mut rows: Vec<IncidentRow> = open
        .into_iter()
        .map(|i| {
            let id = i.ticket.id;
            let number = i.ticket.number();
            let signal = match &i.signal {
                Some(signal) => signal_words(signal),
                None => match last(id, EventKind::IncidentDeclared) {
                    Some((_, _, actor, ..)) => format!("Declared by {actor}"),
                    None => "Declared by an agent".to_string(),
                },
            };
            IncidentRow {
                headline: headlines
                    .iter()
                    .find(|k| k.number == number)
                    .map_or_else(|| number.to_string(), |k| k.headline.clone()),
                signal,
                reports: i.linked_tickets.len(),
                team: desk
                    .model
                    .team(&i.ticket.team)
                    .map_or_else(|| i.ticket.team.clone(), |t| t.name.clone()),
                opened_at: i.opened_at,
                latest_update: last(id, EventKind::IncidentUpdate)
                    .map(|(.., detail, at)| (detail.clone(), *at)),
                number,
            }
        })
        .collect();
    rows.reverse();
    Ok(rows)
}
