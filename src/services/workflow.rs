//! Ticket status changes. The full workflow (with versions checked on every write)
//! arrives with the triage issue; the demo needs tickets in every status now.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::event::{Event, NewEvent};
use crate::db::models::ticket::Ticket;
use crate::db::schema::tickets;
use crate::db::{DbConnection, write_transaction};
use crate::error::AppError;

/// Move a demo ticket to `status`, with a timeline event.
pub fn demo_set_status(
    conn: &mut DbConnection,
    ticket: &Ticket,
    status: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        diesel::update(tickets::table.find(ticket.id))
            .set((
                tickets::status.eq(status),
                tickets::updated_at.eq(at),
                tickets::version.eq(tickets::version + 1),
            ))
            .execute(conn)?;
        let detail = format!("status changed from {} to {status}", ticket.status);
        Event::insert_many(
            conn,
            &[NewEvent {
                ticket_id: ticket.id,
                kind: "status_changed",
                actor: "demo",
                detail: &detail,
                public: true,
                created_at: at,
            }],
        )?;
        Ok(())
    })
}
