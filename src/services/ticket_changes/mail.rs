//! Queuing email in the outbox, inside the caller's transaction, with a timeline entry.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::db::models::drill::Drill;
use crate::db::models::event::{Event, NewEvent};
use crate::db::models::outbox::{NewOutboxMessage, OutboxMessage};
use crate::db::models::ticket::Ticket;
use crate::domain::drill;
use crate::domain::event::EventKind;
use crate::domain::outbox::OutboxStatus;
use crate::email::{self, MailContext, RenderedEmail};
use crate::error::AppError;

/// What kind of message, for the outbox row and the timeline.
pub struct Message<'a> {
    pub template: &'a str,
    pub recipient: &'a str,
    pub rendered: RenderedEmail,
    /// Threading: the first message of a ticket is the root the others reply to.
    pub first_in_thread: bool,
    /// The same key to the same recipient within `DEDUPE_WINDOW` is suppressed: one
    /// email per recipient per ticket per event, however many paths lead to it.
    pub dedupe_key: Option<String>,
}

/// How long a de-duplication key holds.
pub const DEDUPE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(12);

/// Queue an escalation step's email: no de-duplication check (the step is recorded once
/// per ticket under a unique key, in the same transaction) and no timeline entry of its
/// own (the step's entry names every recipient).
pub fn queue_step_email(
    conn: &mut DbConnection,
    mail: &MailContext,
    ticket: &Ticket,
    message: Message<'_>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    insert(conn, mail, ticket, &message, now)
}

/// The message's Message-ID and the one it replies to: the first of a ticket is the root
/// of its thread, the others answer it.
fn thread_ids(
    mail: &MailContext,
    ticket: &Ticket,
    message: &Message<'_>,
) -> (String, Option<String>) {
    let root = email::thread_root_id(mail, ticket);
    if message.first_in_thread {
        (root, None)
    } else {
        (
            email::message_id(mail, ticket, message.template),
            Some(root),
        )
    }
}

/// A live message's outbox row, due now.
fn outbox_row<'a>(
    ticket: &Ticket,
    message: &'a Message<'a>,
    (message_id, in_reply_to): &'a (String, Option<String>),
    now: NaiveDateTime,
) -> NewOutboxMessage<'a> {
    NewOutboxMessage {
        ticket_id: Some(ticket.id),
        template: message.template,
        recipient: message.recipient,
        subject: &message.rendered.subject,
        body_text: &message.rendered.text,
        body_html: &message.rendered.html,
        message_id,
        in_reply_to: in_reply_to.as_deref(),
        status: OutboxStatus::Pending,
        next_attempt_at: now,
        created_at: now,
        dedupe_key: message.dedupe_key.as_deref(),
        drill: drill::LIVE,
    }
}

fn insert(
    conn: &mut DbConnection,
    mail: &MailContext,
    ticket: &Ticket,
    message: &Message<'_>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let ids = thread_ids(mail, ticket, message);
    if ticket.drill != drill::LIVE {
        let (message_id, in_reply_to) = ids;
        return insert_drill_copies(conn, mail, ticket, message, &message_id, in_reply_to, now);
    }
    OutboxMessage::insert(conn, &outbox_row(ticket, message, &ids, now))?;
    Ok(())
}

/// A drill's message goes to the drill's recipients instead, `[DRILL]` in the subject and
/// the address it stands in for at the top: a rehearsal never mails a real owner or
/// analyst. One copy per drill recipient, each with its own Message-ID.
fn insert_drill_copies(
    conn: &mut DbConnection,
    mail: &MailContext,
    ticket: &Ticket,
    message: &Message<'_>,
    message_id: &str,
    in_reply_to: Option<String>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let subject = drill::tag_subject(&message.rendered.subject);
    let note = format!(
        "DRILL {}: a rehearsal. In a real event this message would go to {}.",
        ticket.drill, message.recipient
    );
    let text = format!("{note}\n\n{}", message.rendered.text);
    let html = format!(
        "<p><strong>{}</strong></p>\n{}",
        askama::filters::escape(&note, askama::filters::Html).map_err(AppError::internal)?,
        message.rendered.html
    );
    for (i, recipient) in Drill::recipients_of(conn, ticket.drill)?.iter().enumerate() {
        let id = if i == 0 {
            message_id.to_string()
        } else {
            email::message_id(mail, ticket, message.template)
        };
        OutboxMessage::insert(
            conn,
            &NewOutboxMessage {
                ticket_id: Some(ticket.id),
                template: message.template,
                recipient,
                subject: &subject,
                body_text: &text,
                body_html: &html,
                message_id: &id,
                in_reply_to: in_reply_to.as_deref(),
                status: OutboxStatus::Pending,
                next_attempt_at: now,
                created_at: now,
                dedupe_key: message.dedupe_key.as_deref(),
                drill: ticket.drill,
            },
        )?;
    }
    Ok(())
}

/// Queue a message; returns false when it was suppressed as a duplicate.
pub fn queue(
    conn: &mut DbConnection,
    mail: &MailContext,
    ticket: &Ticket,
    message: Message<'_>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    if let Some(key) = &message.dedupe_key
        && OutboxMessage::recently_queued(conn, message.recipient, key, now - DEDUPE_WINDOW)?
    {
        let detail = format!(
            "{} email suppressed: already sent for this within {} hours",
            message.template.replace('_', " "),
            DEDUPE_WINDOW.num_hours()
        );
        let event = NewEvent {
            ticket_id: ticket.id,
            kind: EventKind::EmailSuppressed,
            actor: "desk",
            detail: &detail,
            public: false,
            created_at: now,
            version: ticket.version,
        };
        Event::insert_many(conn, &[event])?;
        return Ok(false);
    }
    insert(conn, mail, ticket, &message, now)?;
    let detail = queued_detail(&message);
    Event::insert_many(conn, &[queued_event(ticket, &detail, now)])?;
    Ok(true)
}

/// Queue the messages of one change together (a new ticket's confirmation and its team's
/// notice): see `queue_changes`.
pub fn queue_all(
    conn: &mut DbConnection,
    mail: &MailContext,
    ticket: &Ticket,
    messages: Vec<Message<'_>>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    queue_changes(
        conn,
        vec![Change {
            mail,
            ticket,
            messages,
            now,
        }],
    )
}

/// One ticket's messages of one change.
pub struct Change<'a> {
    pub mail: &'a MailContext,
    pub ticket: &'a Ticket,
    pub messages: Vec<Message<'a>>,
    pub now: NaiveDateTime,
}

/// Queue the messages of several changes (new tickets written together): their outbox
/// rows in one insert and their timeline entries in another, which on PostgreSQL is two
/// statements for all of them instead of two for each. Messages with a de-duplication
/// key, and a drill's, go one by one through `queue`, before the others of their ticket.
pub fn queue_changes(conn: &mut DbConnection, changes: Vec<Change<'_>>) -> Result<(), AppError> {
    let mut together = Vec::new();
    for change in changes {
        for message in change.messages {
            if message.dedupe_key.is_none() && change.ticket.drill == drill::LIVE {
                together.push((change.mail, change.ticket, message, change.now));
            } else {
                queue(conn, change.mail, change.ticket, message, change.now)?;
            }
        }
    }
    if together.is_empty() {
        return Ok(());
    }
    let ids: Vec<(String, Option<String>)> = together
        .iter()
        .map(|(mail, ticket, message, _)| thread_ids(mail, ticket, message))
        .collect();
    let rows: Vec<NewOutboxMessage<'_>> = together
        .iter()
        .zip(&ids)
        .map(|((_, ticket, message, now), ids)| outbox_row(ticket, message, ids, *now))
        .collect();
    OutboxMessage::insert_many(conn, &rows)?;
    let details: Vec<String> = together
        .iter()
        .map(|(_, _, message, _)| queued_detail(message))
        .collect();
    let events: Vec<NewEvent<'_>> = together
        .iter()
        .zip(&details)
        .map(|((_, ticket, _, now), detail)| queued_event(ticket, detail, *now))
        .collect();
    Event::insert_many(conn, &events)?;
    Ok(())
}

/// The timeline names the kind of mail, not the address: reporters' addresses stay off
/// pages agents share.
fn queued_detail(message: &Message<'_>) -> String {
    format!("{} email queued", message.template.replace('_', " "))
}

fn queued_event<'a>(ticket: &Ticket, detail: &'a str, now: NaiveDateTime) -> NewEvent<'a> {
    NewEvent {
        ticket_id: ticket.id,
        kind: EventKind::EmailQueued,
        actor: "desk",
        detail,
        public: false,
        created_at: now,
        version: ticket.version,
    }
}
