//! Incidents: a parent ticket gathering reports of one problem, whose public updates reach
//! every affected reporter once.

use std::collections::BTreeSet;

use crate::db::models::ticket::Ticket;
use crate::db::{DbConnection, write_transaction};
use crate::email;
use crate::error::AppError;
use crate::services::notify::{self, Message};
use crate::services::triage::{TicketChangeset, Who, touch};
use crate::state::Desk;

fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Invalid(std::iter::once((field, message.into())).collect())
}

/// Turn a ticket into an incident.
pub fn declare(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    id: i64,
) -> Result<Ticket, AppError> {
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let ticket = Ticket::find(conn, id)?;
        if ticket.is_incident {
            return Err(invalid(
                "incident",
                format!("{} is already an incident.", ticket.number()),
            ));
        }
        if ticket.parent_id.is_some() {
            return Err(invalid(
                "incident",
                "This ticket belongs to an incident; detach it first.",
            ));
        }
        let set = TicketChangeset {
            is_incident: Some(true),
            ..TicketChangeset::default()
        };
        let note = format!("declared an incident by {}", who.name);
        touch(
            conn,
            &ticket,
            who,
            &[("incident_declared", note, true)],
            set,
            now,
        )
    })
}

/// Attach a ticket to an incident.
pub fn attach(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    child_id: i64,
    incident_id: i64,
) -> Result<Ticket, AppError> {
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let incident = Ticket::find(conn, incident_id).map_err(|e| match e {
            diesel::result::Error::NotFound => invalid("incident", "No such incident."),
            other => other.into(),
        })?;
        if !incident.is_incident {
            return Err(invalid(
                "incident",
                format!(
                    "{} is not an incident; declare it first.",
                    incident.number()
                ),
            ));
        }
        let child = Ticket::find(conn, child_id)?;
        if child.id == incident.id || child.is_incident {
            return Err(invalid(
                "incident",
                "An incident cannot be attached to an incident.",
            ));
        }
        if child.parent_id == Some(incident.id) {
            return Ok(child);
        }
        let set = TicketChangeset {
            parent_id: Some(Some(incident.id)),
            ..TicketChangeset::default()
        };
        let note = format!("attached to incident {} by {}", incident.number(), who.name);
        let child = touch(
            conn,
            &child,
            who,
            &[("incident_attached", note, true)],
            set,
            now,
        )?;
        let note = format!("{} attached by {}", child.number(), who.name);
        touch(
            conn,
            &incident,
            who,
            &[("incident_child_added", note, false)],
            TicketChangeset::default(),
            now,
        )?;
        Ok(child)
    })
}

/// A public update on an incident: on every child's timeline, and one email per reporter
/// (not per ticket). Returns how many emails were queued.
pub fn update(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    incident_id: i64,
    body: &str,
) -> Result<usize, AppError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(invalid("body", "An update needs 1 to 10,000 characters."));
    }
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let incident = Ticket::find(conn, incident_id)?;
        if !incident.is_incident {
            return Err(invalid(
                "incident",
                format!("{} is not an incident.", incident.number()),
            ));
        }
        let children = Ticket::children(conn, incident.id)?;
        let mut told = BTreeSet::new();
        let incident = touch(
            conn,
            &incident,
            who,
            &[("incident_update", body.to_string(), true)],
            TicketChangeset::default(),
            now,
        )?;
        for ticket in std::iter::once(incident).chain(children) {
            let ticket = if ticket.is_incident {
                ticket
            } else {
                touch(
                    conn,
                    &ticket,
                    who,
                    &[("incident_update", body.to_string(), true)],
                    TicketChangeset::default(),
                    now,
                )?
            };
            // One email per reporter, threaded on the first of their tickets.
            if told.insert(ticket.reporter_email.clone()) {
                let rendered = email::ticket_message(
                    &desk.mail,
                    &ticket,
                    "Update on the problem you reported",
                    body,
                )?;
                let message = Message {
                    template: "incident_update",
                    recipient: &ticket.reporter_email,
                    rendered,
                    first_in_thread: false,
                    dedupe_key: None,
                };
                notify::queue(conn, &desk.mail, &ticket, message, now)?;
            }
        }
        Ok(told.len())
    })
}
