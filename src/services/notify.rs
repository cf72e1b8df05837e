//! Queuing email in the outbox, inside the caller's transaction, with a timeline entry.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::db::models::event::{Event, NewEvent};
use crate::db::models::outbox::{NewOutboxMessage, OutboxMessage, PENDING};
use crate::db::models::ticket::Ticket;
use crate::email::{self, MailContext, RenderedEmail};
use crate::error::AppError;

/// What kind of message, for the outbox row and the timeline.
pub struct Message<'a> {
    pub template: &'a str,
    pub recipient: &'a str,
    pub rendered: RenderedEmail,
    /// Threading: the first message of a ticket is the root the others reply to.
    pub first_in_thread: bool,
}

pub fn queue(
    conn: &mut DbConnection,
    mail: &MailContext,
    ticket: &Ticket,
    message: Message<'_>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let root = email::thread_root_id(mail, ticket);
    let (message_id, in_reply_to) = if message.first_in_thread {
        (root, None)
    } else {
        (
            email::message_id(mail, ticket, message.template),
            Some(root),
        )
    };
    OutboxMessage::insert(
        conn,
        &NewOutboxMessage {
            ticket_id: Some(ticket.id),
            template: message.template,
            recipient: message.recipient,
            subject: &message.rendered.subject,
            body_text: &message.rendered.text,
            body_html: &message.rendered.html,
            message_id: &message_id,
            in_reply_to: in_reply_to.as_deref(),
            status: PENDING,
            next_attempt_at: now,
            created_at: now,
        },
    )?;
    // The timeline names the kind of mail, not the address: reporters' addresses stay
    // off pages agents share.
    let detail = format!("{} email queued", message.template.replace('_', " "));
    Event::insert_many(
        conn,
        &[NewEvent {
            ticket_id: ticket.id,
            kind: "email_queued",
            actor: "desk",
            detail: &detail,
            public: false,
            created_at: now,
            version: ticket.version,
        }],
    )?;
    Ok(())
}
