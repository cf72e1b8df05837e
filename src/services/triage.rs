//! Agents' changes to a ticket: status, category, severity, team and assignee in one go,
//! checked against the version the agent saw so two agents never silently overwrite each
//! other. An incident that ends takes its open reports with it (`incidents`).

use crate::db::models::event::Event;
use crate::db::models::ticket::Ticket;
use crate::db::{DbConnection, write_transaction};
use crate::domain::status::Status;
use crate::error::AppError;
use crate::services::incidents;
use crate::services::ticket_changes::{self, Changes, Tell, Who};
use crate::state::Desk;

/// The ticket changed since the caller read it.
#[derive(Debug)]
pub struct Conflict {
    pub current: Ticket,
    pub missed: Vec<Event>,
}

/// Apply `changes` if the ticket is still at `expected_version`. An incident that is
/// resolved (or closed) resolves its open reports with it (`incidents::resolve_reports`).
pub fn update(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    id: i64,
    expected_version: i32,
    changes: &Changes,
) -> Result<Result<Ticket, Conflict>, AppError> {
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let ticket = Ticket::find(conn, id)?;
        if ticket.version != expected_version {
            let missed = Event::since_version(conn, id, expected_version)?;
            return Ok(Err(Conflict {
                current: ticket,
                missed,
            }));
        }
        // Resolved, or closed straight away: an end either way.
        let ended = |status: Status| matches!(status, Status::Resolved | Status::Closed);
        let resolves_incident =
            ticket.is_incident && changes.status.is_some_and(ended) && !ended(ticket.status);
        // An incident's reporter hears with its reports' reporters, in its update.
        let tell = if resolves_incident {
            Tell::NotReporter
        } else {
            Tell::Reporter
        };
        let Some(saved) = ticket_changes::apply(conn, desk, who, &ticket, changes, tell, now)?
        else {
            let missed = Event::since_version(conn, id, expected_version)?;
            return Ok(Err(Conflict {
                current: Ticket::find(conn, id)?,
                missed,
            }));
        };
        if resolves_incident && ended(saved.status) {
            let reason = changes.reason.as_deref().map(str::trim);
            let reports = incidents::resolve_reports(conn, desk, who, &saved, reason, now)?;
            tracing::info!(
                incident = %saved.number(),
                reports,
                "incident ended; its open reports resolved with it"
            );
            // The update on its timeline moved the incident on a version.
            return Ok(Ok(Ticket::find(conn, id)?));
        }
        Ok(Ok(saved))
    })
}
