//! Mail in: one service behind `inspect-desk mail receive`, `POST /api/v1/inbound-mail`
//! and the IMAP poller. A message is read, matched to a ticket (its reply address, then
//! the thread it answers, then an `[INS-1042]` subject tag), and acted on by who sent it;
//! it is kept whole beside what it became, in the transaction that made it. A replayed
//! message (same Message-ID) is taken once.

pub mod parse;

use chrono::{NaiveDateTime, TimeDelta};

use crate::db::models::attachment::Attachment;
use crate::db::models::event::Event;
use crate::db::models::inbound_mail::{InboundMail, NewInboundMail};
use crate::db::models::mail_suppression::MailSuppression;
use crate::db::models::outbox::OutboxMessage;
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::db::{DbConnection, write_transaction};
use crate::domain::attachment::Upload;
use crate::domain::event::EventKind;
use crate::domain::inbound::Outcome;
use crate::domain::reply_address::{self, Tag};
use crate::domain::report::{RawReport, Report};
use crate::domain::role::Role;
use crate::domain::submission::{Requester, Submission};
use crate::domain::text;
use crate::domain::ticket_number::TicketNumber;
use crate::email::bare_address;
use crate::error::AppError;
use crate::services::attachments;
use crate::services::intake::{self, Submitted};
use crate::services::ticket_actions;
use crate::services::ticket_changes::{self, TicketChangeset, Who, touch};
use crate::state::Desk;

pub use parse::{Incoming, NotAMessage};

/// The most a message's text may be as a reply or a report; the rest stays in the
/// original message, which the ticket offers for download.
const MAX_TEXT_CHARS: usize = 9_800;

/// What became of a received message.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub outcome: Outcome,
    /// The ticket it landed on or opened, as "INS-1042".
    pub ticket: Option<String>,
    /// Taken before: this copy changed nothing.
    pub repeat: bool,
}

/// Take one RFC 5322 message. `AppError::BadRequest` when the bytes are not a message at
/// all (the MTA should not retry); any other error is temporary (the database): nothing
/// was stored and the sender may retry.
pub fn receive(conn: &mut DbConnection, desk: &Desk, raw: &[u8]) -> Result<Receipt, AppError> {
    let incoming = parse::read(raw).map_err(|NotAMessage(why)| {
        AppError::BadRequest(format!("This is not an email message: {why}."))
    })?;
    if let Some(taken) = InboundMail::by_key(conn, &incoming.key)? {
        return Ok(repeat(&taken));
    }
    let now = desk.clock.now();
    let result = if incoming.delivery.is_some() {
        write_transaction(conn, |conn| bounce(conn, desk, &incoming, raw, now))
    } else {
        let to_support = incoming
            .recipients
            .iter()
            .any(|r| reply_address::is_support(r, &desk.mail.support_address));
        let answered = write_transaction(conn, |conn| {
            let ticket = find_ticket(conn, desk, &incoming)?;
            if ticket.is_none() && to_support && acts_on(conn, desk, &incoming, now)? {
                // A new report: filed below, outside this transaction.
                return Ok(None);
            }
            answer(conn, desk, ticket, &incoming, raw, now).map(Some)
        });
        match answered {
            Ok(Some(receipt)) => Ok(receipt),
            Ok(None) => new_report(conn, desk, &incoming, raw, now),
            Err(e) => Err(e),
        }
    };
    match result {
        // The same message, taken at the same moment by another instance or poller.
        Err(e) if e.is_db_conflict() => match InboundMail::by_key(conn, &incoming.key)? {
            Some(taken) => Ok(repeat(&taken)),
            None => Err(e),
        },
        other => other,
    }
}

fn repeat(taken: &InboundMail) -> Receipt {
    Receipt {
        outcome: taken.outcome.0,
        ticket: taken.ticket_id.map(|id| TicketNumber::of(id).to_string()),
        repeat: true,
    }
}

/// Whether a message from a person is acted on: not automatic, not over the sender's
/// limit, not from a domain that failed DMARC (which may not open reports in anyone's
/// name).
fn acts_on(
    conn: &mut DbConnection,
    desk: &Desk,
    incoming: &Incoming,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    Ok(!incoming.automatic && !incoming.dmarc_failed && !throttled(conn, desk, incoming, now)?)
}

fn throttled(
    conn: &mut DbConnection,
    desk: &Desk,
    incoming: &Incoming,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let limit = desk.mail_per_sender_per_minute;
    Ok(limit > 0
        && InboundMail::count_from(conn, &incoming.sender, now - TimeDelta::minutes(1))?
            >= i64::from(limit))
}

/// The ticket a message answers: its signed reply address, the thread it answers, then
/// an `[INS-1042]` tag in its subject. A merged ticket's answers go to the one it was
/// merged into. Drill tickets are not matched by a guessable subject tag.
fn find_ticket(
    conn: &mut DbConnection,
    desk: &Desk,
    incoming: &Incoming,
) -> Result<Option<Ticket>, AppError> {
    let by_address = incoming.recipients.iter().find_map(|r| {
        match Tag::read(r, &desk.signing_key, &desk.mail.support_address) {
            Some(Tag::Ticket(id)) => Some(id),
            _ => None,
        }
    });
    let id = match by_address {
        Some(id) => Some(id),
        None => match InboundMail::ticket_of_thread(conn, &incoming.answers)? {
            Some(id) => Some(id),
            None => subject_tag(&incoming.subject),
        },
    };
    let Some(id) = id else {
        return Ok(None);
    };
    let mut ticket = match Ticket::find(conn, id) {
        Ok(t) => t,
        Err(diesel::result::Error::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if by_address.is_none() && ticket.drill != desk.drill {
        return Ok(None);
    }
    // A merge chain is short; the bound keeps a corrupt loop from spinning.
    for _ in 0..5 {
        match ticket.merged_into {
            Some(into) => ticket = Ticket::find(conn, into)?,
            None => break,
        }
    }
    Ok(Some(ticket))
}

/// `[INS-1042]` (any case) anywhere in a subject.
fn subject_tag(subject: &str) -> Option<i64> {
    let lower = subject.to_ascii_lowercase();
    let prefix = format!(
        "[{}",
        crate::domain::ticket_number::PREFIX.to_ascii_lowercase()
    );
    let mut rest = lower.as_str();
    while let Some(at) = rest.find(&prefix) {
        let after = &rest[at + 1..];
        if let Some(close) = after.find(']')
            && let Ok(number) = TicketNumber::parse(&after[..close])
        {
            return Some(number.id());
        }
        rest = &rest[at + 1..];
    }
    None
}

/// A message on a ticket, or one that found none, by who sent it.
fn answer(
    conn: &mut DbConnection,
    desk: &Desk,
    ticket: Option<Ticket>,
    incoming: &Incoming,
    raw: &[u8],
    now: NaiveDateTime,
) -> Result<Receipt, AppError> {
    let Some(ticket) = ticket else {
        let (outcome, detail) = if incoming.automatic {
            (Outcome::AutoReply, "")
        } else if incoming.dmarc_failed {
            (
                Outcome::Unmatched,
                "matched no ticket; the sender's domain failed DMARC, so no report was opened",
            )
        } else if throttled(conn, desk, incoming, now)? {
            (Outcome::Throttled, "")
        } else {
            (Outcome::Unmatched, "")
        };
        return record(conn, incoming, raw, outcome, None, None, detail, now);
    };
    if incoming.automatic {
        let note = format!(
            "Automatic reply from {} (an out-of-office notice or similar); not added as a reply.",
            incoming.sender
        );
        desk_note(conn, &ticket, &note, now)?;
        let detail = "";
        return record(
            conn,
            incoming,
            raw,
            Outcome::AutoReply,
            Some(&ticket),
            None,
            detail,
            now,
        );
    }
    if throttled(conn, desk, incoming, now)? {
        let note = format!(
            "Email from {} held: more than {} messages a minute from this sender. The message is kept with the ticket's received mail.",
            incoming.sender, desk.mail_per_sender_per_minute
        );
        desk_note(conn, &ticket, &note, now)?;
        let detail = "";
        return record(
            conn,
            incoming,
            raw,
            Outcome::Throttled,
            Some(&ticket),
            None,
            detail,
            now,
        );
    }
    let files = &incoming.files;
    let checked = attachments::check(&desk.attachment_limits, files);
    let body = message_body(incoming, checked.as_ref().err());
    // Files over the limits stay in the original; the text says so.
    let files: &[Upload] = if checked.is_ok() { files } else { &[] };
    let role = sender_role(conn, &ticket, incoming)?;
    let (outcome, kind, public) = match role {
        SenderRole::Reporter => {
            ticket_actions::reporter_reply_within(conn, desk, &ticket, &body)?;
            (Outcome::ReporterReply, EventKind::ReporterReply, true)
        }
        SenderRole::Agent(user) => {
            let who = Who {
                name: user.email.clone(),
                user_id: Some(user.id),
            };
            // The reply's email to the reporter links its files, so they are stored with it.
            ticket_actions::reply_within_with_files(
                conn, desk, &who, ticket.id, &body, true, None, files,
            )?;
            let event_id = Event::newest_of_kind(conn, ticket.id, EventKind::Comment)?;
            let detail = Outcome::AgentReply.label();
            return record(
                conn,
                incoming,
                raw,
                Outcome::AgentReply,
                Some(&ticket),
                event_id,
                detail,
                now,
            );
        }
        SenderRole::Unverified => {
            let from = match &incoming.sender_name {
                Some(name) => format!("{name} <{}>", incoming.sender),
                None => incoming.sender.clone(),
            };
            let why = if incoming.dmarc_failed {
                "the sender's domain failed DMARC"
            } else {
                "the sender is not the reporter or one of the desk's people"
            };
            let note = format!("From {from} ({why}):\n\n{body}");
            let who = Who {
                name: incoming.sender.clone(),
                user_id: None,
            };
            let notes = [(EventKind::UnverifiedMail, note, false)];
            touch(conn, &ticket, &who, &notes, TicketChangeset::default(), now)?;
            (Outcome::Unverified, EventKind::UnverifiedMail, false)
        }
    };
    let event_id = Event::newest_of_kind(conn, ticket.id, kind)?;
    if !files.is_empty() {
        attachments::store(
            conn,
            ticket.id,
            event_id,
            files,
            public,
            &incoming.sender,
            now,
        )?;
    }
    let detail = outcome.label();
    record(
        conn,
        incoming,
        raw,
        outcome,
        Some(&ticket),
        event_id,
        detail,
        now,
    )
}

enum SenderRole {
    Reporter,
    Agent(User),
    Unverified,
}

/// The reporter (of the ticket, or of one merged into it), one of the desk's active
/// people, or anyone else. A domain that failed DMARC is anyone else, whoever it claims.
fn sender_role(
    conn: &mut DbConnection,
    ticket: &Ticket,
    incoming: &Incoming,
) -> Result<SenderRole, AppError> {
    if incoming.dmarc_failed {
        return Ok(SenderRole::Unverified);
    }
    // The ticket's reporter first; then, rarely, those of tickets merged into it.
    if ticket.reporter_email.eq_ignore_ascii_case(&incoming.sender)
        || ticket_changes::reporters(conn, vec![ticket.clone()])?
            .iter()
            .any(|t| t.reporter_email.eq_ignore_ascii_case(&incoming.sender))
    {
        return Ok(SenderRole::Reporter);
    }
    match User::find_by_email(conn, &incoming.sender)? {
        Some(user) if user.is_active() && user.role.includes(Role::Agent) => {
            Ok(SenderRole::Agent(user))
        }
        _ => Ok(SenderRole::Unverified),
    }
}

/// The text a message adds: what the sender wrote, within the length a reply may have,
/// with a word on files and anything left in the original.
fn message_body(incoming: &Incoming, refused_files: Option<&AppError>) -> String {
    let text: String = incoming
        .text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    let mut body = if text.chars().count() > MAX_TEXT_CHARS {
        format!(
            "{}\n\n[The rest of this email is in the original message.]",
            text::cut(&text, MAX_TEXT_CHARS)
        )
    } else {
        text.trim().to_string()
    };
    if body.is_empty() {
        body = if incoming.files.is_empty() {
            "(This email had no new text.)".into()
        } else {
            "(Files sent by email, without text.)".into()
        };
    }
    if let Some(AppError::Invalid(errors)) = refused_files {
        let why: Vec<&str> = errors.values().map(String::as_str).collect();
        body.push_str(&format!(
            "\n\n[The email's files were not attached: {} They are in the original message.]",
            why.join(" ")
        ));
    }
    body
}

/// An internal line on the timeline from the desk itself.
fn desk_note(
    conn: &mut DbConnection,
    ticket: &Ticket,
    note: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let who = Who {
        name: "desk".into(),
        user_id: None,
    };
    let notes = [(EventKind::MailReceived, note.to_string(), false)];
    touch(conn, ticket, &who, &notes, TicketChangeset::default(), now)?;
    Ok(())
}

/// Keep the message and what became of it; `detail` adds what the outcome's label does not
/// say (empty when nothing).
#[allow(clippy::too_many_arguments)]
fn record(
    conn: &mut DbConnection,
    incoming: &Incoming,
    raw: &[u8],
    outcome: Outcome,
    ticket: Option<&Ticket>,
    event_id: Option<i64>,
    detail: &str,
    now: NaiveDateTime,
) -> Result<Receipt, AppError> {
    InboundMail::insert(
        conn,
        &NewInboundMail {
            message_key: &incoming.key,
            sender: &incoming.sender,
            subject: &text::cut(&incoming.subject, 300),
            ticket_id: ticket.map(|t| t.id),
            event_id,
            outcome: outcome.as_str(),
            detail,
            received_at: now,
            raw,
        },
    )?;
    tracing::info!(
        outcome = outcome.as_str(),
        ticket = ticket.map(|t| t.number().to_string()),
        "email received"
    );
    Ok(Receipt {
        outcome,
        ticket: ticket.map(|t| t.number().to_string()),
        repeat: false,
    })
}

/// A message to the support address that matches no ticket: a report, filed as the form
/// files one (classified, linked, routed, confirmed), with the message's files.
fn new_report(
    conn: &mut DbConnection,
    desk: &Desk,
    incoming: &Incoming,
    raw: &[u8],
    now: NaiveDateTime,
) -> Result<Receipt, AppError> {
    let checked = attachments::check(&desk.attachment_limits, &incoming.files);
    let body = message_body(incoming, checked.as_ref().err());
    let subject = incoming.subject.trim();
    let description = if subject.is_empty() {
        body
    } else {
        format!("{}\n\n{body}", text::cut(subject, 200))
    };
    let raw_report = RawReport {
        reporter_name: incoming.sender_name.as_deref().map(|n| text::cut(n, 190)),
        reporter_email: Some(incoming.sender.clone()),
        kind: Some("unsure".into()),
        description: Some(description),
        ..RawReport::default()
    };
    let report = match Report::parse(&raw_report) {
        Ok(report) => report,
        Err(errors) => {
            // A sender address the desk could not mail back, say.
            let why: Vec<&str> = errors.values().map(String::as_str).collect();
            let detail = format!("could not open a report: {}", why.join(" "));
            return write_transaction(conn, |conn| {
                record(
                    conn,
                    incoming,
                    raw,
                    Outcome::Unmatched,
                    None,
                    None,
                    &detail,
                    now,
                )
            });
        }
    };
    let requester = Requester::Anonymous {
        reporter_email: incoming.sender.clone(),
        client: None,
    };
    // The message's key makes filing idempotent: a retry after a failure below finds the
    // ticket already filed and completes the record.
    let submission = Submission::new(format!("mail:{}", incoming.key), &requester, &raw_report);
    let submitted = intake::submit(conn, desk, report, Some(submission))?;
    let touched = submitted.touched();
    let ticket = match submitted {
        Submitted::Created { ticket, .. } | Submitted::Duplicate(ticket) => ticket,
    };
    let receipt = write_transaction(conn, |conn| {
        let event_id = Event::newest_of_kind(conn, ticket.id, EventKind::Created)?;
        if checked.is_ok() {
            attachments::store(
                conn,
                ticket.id,
                event_id,
                &incoming.files,
                true,
                &incoming.sender,
                now,
            )?;
        }
        let detail = Outcome::NewReport.label();
        record(
            conn,
            incoming,
            raw,
            Outcome::NewReport,
            Some(&ticket),
            event_id,
            detail,
            now,
        )
    })?;
    desk.after_ingest.reports_filed(&touched);
    Ok(receipt)
}

/// A delivery report: the message it is about is marked bounced, the ticket's timeline
/// says so, and a hard-bounced address gets no more mail until an agent clears it.
fn bounce(
    conn: &mut DbConnection,
    desk: &Desk,
    incoming: &Incoming,
    raw: &[u8],
    now: NaiveDateTime,
) -> Result<Receipt, AppError> {
    let Some(status) = &incoming.delivery else {
        unreachable!("bounce() is called for delivery reports only")
    };
    let by_return_path = incoming.recipients.iter().find_map(|r| {
        match Tag::read(r, &desk.signing_key, &desk.mail.support_address) {
            Some(Tag::Bounce(id)) => Some(id),
            _ => None,
        }
    });
    let sent = match by_return_path {
        Some(id) => OutboxMessage::find(conn, id)?,
        None => match &status.original_id {
            Some(id) => OutboxMessage::by_message_id(conn, &format!("<{id}>"))?,
            None => None,
        },
    };
    let Some(sent) = sent else {
        let detail = "";
        return record(
            conn,
            incoming,
            raw,
            Outcome::UnmatchedBounce,
            None,
            None,
            detail,
            now,
        );
    };
    let ticket = match sent.ticket_id {
        Some(id) => Some(Ticket::find(conn, id)?),
        None => None,
    };
    if !status.is_failure() {
        let detail = format!("a delivery report: {}", status.action);
        return record(
            conn,
            incoming,
            raw,
            Outcome::Bounce,
            ticket.as_ref(),
            None,
            &detail,
            now,
        );
    }
    let address = status
        .recipient
        .clone()
        .unwrap_or_else(|| bare_address(&sent.recipient).to_lowercase());
    let why = if status.diagnostic.is_empty() {
        status.status.clone()
    } else {
        status.diagnostic.clone()
    };
    let why = text::cut(&why, 300);
    OutboxMessage::mark_bounced(conn, sent.id, &why, now)?;
    if status.is_hard_bounce() {
        MailSuppression::add(conn, &address, &why, Some(sent.id), now)?;
    }
    let mut event_id = None;
    if let Some(ticket) = &ticket {
        let next = if status.is_hard_bounce() {
            " No more email goes to this address until an agent clears it on this page."
        } else {
            ""
        };
        let note = format!("Email to {address} bounced: {why}.{next}");
        let who = Who {
            name: "desk".into(),
            user_id: None,
        };
        let notes = [(EventKind::EmailBounced, note, false)];
        touch(conn, ticket, &who, &notes, TicketChangeset::default(), now)?;
        event_id = Event::newest_of_kind(conn, ticket.id, EventKind::EmailBounced)?;
    }
    let detail = format!(
        "{} email to {address} bounced",
        sent.template.replace('_', " ")
    );
    record(
        conn,
        incoming,
        raw,
        Outcome::Bounce,
        ticket.as_ref(),
        event_id,
        &detail,
        now,
    )
}

/// An agent publishes an unverified sender's message as a reply to the reporter: its
/// text (read again from the original) is sent in the agent's name, saying who wrote it,
/// and its files become visible to the reporter. Returns the ticket.
pub fn publish(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    ticket_id: i64,
    mail_id: i64,
) -> Result<Ticket, AppError> {
    write_transaction(conn, |conn| {
        let (mail, raw) =
            InboundMail::with_raw(conn, ticket_id, mail_id)?.ok_or(AppError::NotFound)?;
        if mail.outcome.0 != Outcome::Unverified {
            return Err(AppError::Conflict(
                "This email is not an unverified sender's note (it was published already, or is a reply of its own).".into(),
            ));
        }
        let incoming = parse::read(&raw).map_err(|_| AppError::NotFound)?;
        let from = match &incoming.sender_name {
            Some(name) => format!("{name} <{}>", incoming.sender),
            None => incoming.sender.clone(),
        };
        let body = format!(
            "{from} wrote by email:\n\n{}",
            message_body(&incoming, None)
        );
        let ticket = ticket_actions::reply_within(conn, desk, who, ticket_id, &body, true, None)?;
        if let Some(event_id) = mail.event_id {
            Attachment::publish_event(conn, event_id)?;
        }
        let detail = format!("published as a reply by {}", who.name);
        if !InboundMail::change_outcome(
            conn,
            mail_id,
            Outcome::Unverified,
            Outcome::Published,
            &detail,
        )? {
            return Err(AppError::Conflict(
                "Another agent published this email first.".into(),
            ));
        }
        Ok(ticket)
    })
}

/// Let mail go to a held (hard-bounced) address again, noted on the timeline of the
/// ticket it was cleared from, if any. False when the address was not held.
pub fn clear_hold(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    ticket_id: Option<i64>,
    address: &str,
) -> Result<bool, AppError> {
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        if !MailSuppression::clear(conn, address)? {
            return Ok(false);
        }
        let Some(ticket_id) = ticket_id else {
            return Ok(true);
        };
        let ticket = Ticket::find(conn, ticket_id)?;
        let note = format!(
            "Email to {} may go out again (the bounce was cleared).",
            address.trim().to_lowercase()
        );
        let notes = [(EventKind::EmailBounced, note, false)];
        touch(conn, &ticket, who, &notes, TicketChangeset::default(), now)?;
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_tags_are_found_anywhere_in_any_case() {
        assert_eq!(subject_tag("Re: [INS-1042] New reply"), Some(1042));
        assert_eq!(subject_tag("AW: Re: [ins-7] x"), Some(7));
        assert_eq!(subject_tag("[INS-] [INS-12]"), Some(12));
        assert_eq!(subject_tag("INS-1042 without brackets"), None);
        assert_eq!(subject_tag("[INS-10x]"), None);
    }
}
