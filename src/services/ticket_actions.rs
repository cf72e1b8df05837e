//! Comments, replies, merges, run links and wrong-type verdicts.

use chrono::NaiveDateTime;

use crate::db::models::attachment::Attachment;
use crate::db::models::event::Event;
use crate::db::models::ticket::Ticket;
use crate::db::models::ticket_run::{NewTicketRun, TicketRun};
use crate::db::{DbConnection, write_transaction};
use crate::domain::attachment::Upload;
use crate::domain::category::{Category, TypeVerdict};
use crate::domain::event::EventKind;
use crate::domain::status::{self, Status};
use crate::domain::text::{self, Lines};
use crate::domain::ticket_number::TicketNumber;
use crate::email;
use crate::error::AppError;
use crate::services::attachments;
use crate::services::ticket_changes::{self, Changes, Message, Tell, TicketChangeset, Who, touch};
use crate::state::Desk;

const MAX_COMMENT_CHARS: usize = 10_000;

pub fn comment_body(body: &str) -> Result<&str, AppError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::invalid("body", "Write something first."));
    }
    if body.chars().count() > MAX_COMMENT_CHARS {
        return Err(AppError::invalid(
            "body",
            format!("Comments are at most {MAX_COMMENT_CHARS} characters."),
        ));
    }
    text::check_characters(body, Lines::Many).map_err(|e| AppError::invalid("body", e))?;
    Ok(body)
}

/// The first public word from the team stops the first-response clock.
fn first_response(ticket: &Ticket, now: NaiveDateTime, set: &mut TicketChangeset) {
    if ticket.first_responded_at.is_none() {
        set.first_responded_at = Some(Some(now));
        let (due, warn) = status::next_deadline(
            ticket.created_at,
            ticket.first_response_due,
            ticket.resolution_due,
            true,
        );
        set.sla_due_at = Some(due);
        set.sla_warn_at = Some(warn);
    }
}

/// An agent's comment that may also move the status, in one transaction. A public reply
/// that moves the status reaches the reporter as one email saying both; an internal note
/// leaves the status news to its usual email.
pub fn reply(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    id: i64,
    body: &str,
    public: bool,
    status: Option<Status>,
) -> Result<Ticket, AppError> {
    reply_with_files(conn, desk, who, id, body, public, status, &[]).map(|(ticket, _)| ticket)
}

/// `reply` with files: public with a public reply (the reporters' emails link to them),
/// internal with a note. The text and the files are checked together, before anything
/// is written. Returns the ticket and the stored files.
#[allow(clippy::too_many_arguments)]
pub fn reply_with_files(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    id: i64,
    body: &str,
    public: bool,
    status: Option<Status>,
    files: &[Upload],
) -> Result<(Ticket, Vec<Attachment>), AppError> {
    let body = checked_message(desk, body, files)?;
    write_transaction(conn, |conn| {
        reply_within_with_files(conn, desk, who, id, body, public, status, files)
    })
}

/// The text of a message and the files with it, checked together: a message for each
/// that is wrong, nothing stored.
fn checked_message<'a>(desk: &Desk, body: &'a str, files: &[Upload]) -> Result<&'a str, AppError> {
    let mut errors = crate::domain::report::FieldErrors::new();
    let body = comment_body(body).map_err(|e| {
        if let AppError::Invalid(found) = e {
            errors.extend(found);
        }
    });
    if let Err(AppError::Invalid(found)) = attachments::check(&desk.attachment_limits, files) {
        errors.extend(found);
    }
    match body {
        Ok(body) if errors.is_empty() => Ok(body),
        _ => Err(AppError::Invalid(errors)),
    }
}

/// `reply` inside the caller's write transaction, `body` already checked (inbound mail
/// stores the message and its files in the same transaction).
pub fn reply_within(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    id: i64,
    body: &str,
    public: bool,
    status: Option<Status>,
) -> Result<Ticket, AppError> {
    reply_within_with_files(conn, desk, who, id, body, public, status, &[])
        .map(|(ticket, _)| ticket)
}

/// `reply_within` with files, `files` already checked against the limits: they are
/// stored with the reply, and the reporters' emails link to them.
#[allow(clippy::too_many_arguments)]
pub fn reply_within_with_files(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    id: i64,
    body: &str,
    public: bool,
    status: Option<Status>,
    files: &[Upload],
) -> Result<(Ticket, Vec<Attachment>), AppError> {
    let now = desk.clock.now();
    let read = Ticket::find(conn, id)?;
    let (ticket, moved) = match status.filter(|s| *s != read.status) {
        Some(to) => (
            move_status(conn, desk, who, &read, to, public, now)?,
            Some(to),
        ),
        None => (read, None),
    };
    let mut set = TicketChangeset::default();
    if public {
        first_response(&ticket, now, &mut set);
    }
    let kind = if public {
        EventKind::Comment
    } else {
        EventKind::InternalNote
    };
    let saved = touch(
        conn,
        &ticket,
        who,
        &[(kind, body.to_string(), public)],
        set,
        now,
    )?;
    let message = Event::newest_of_kind(conn, id, kind)?;
    let stored = attachments::store(conn, id, message, files, public, &who.name, now)?;
    if public {
        let (headline, text) = reply_email(body, moved);
        // The reporters of tickets merged into this one follow it too.
        for reporter in ticket_changes::reporters(conn, vec![saved.clone()])? {
            let headline = if reporter.id == saved.id {
                headline.to_string()
            } else {
                format!(
                    "New reply on {}, which your report was merged into",
                    saved.number()
                )
            };
            // Each reporter opens the files through their own tracking link.
            let links = stored
                .iter()
                .map(|f| email::FileLink::for_reporter(&desk.mail, &reporter.tracking_token, f))
                .collect();
            let rendered =
                email::ticket_message_with_files(&desk.mail, &reporter, &headline, &text, links)?;
            let message = Message {
                template: "public_comment",
                recipient: &reporter.reporter_email,
                rendered,
                first_in_thread: false,
                dedupe_key: None,
            };
            ticket_changes::queue(conn, &desk.mail, &reporter, message, now)?;
        }
    }
    Ok((saved, stored))
}

/// The status move of a reply, by the status rules. The reporter of a public reply hears
/// of it in the reply's email, so not in one of its own. An incident ends by the status
/// control, which resolves its reports with it.
fn move_status(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    ticket: &Ticket,
    to: Status,
    public: bool,
    now: NaiveDateTime,
) -> Result<Ticket, AppError> {
    if ticket.is_incident && !to.is_open() {
        return Err(AppError::invalid(
            "status",
            "End an incident with the status control beside the ticket: its reports resolve with it.",
        ));
    }
    let changes = Changes {
        status: Some(to),
        ..Changes::default()
    };
    let tell = if public {
        Tell::NotReporter
    } else {
        Tell::Reporter
    };
    ticket_changes::apply(conn, desk, who, ticket, &changes, tell, now)?.ok_or_else(|| {
        AppError::Conflict("This ticket changed while you wrote; nothing was saved.".into())
    })
}

/// The headline and text of a reply's email: the reply, and the new status in the
/// reporter's words when the reply moved it.
fn reply_email(body: &str, moved: Option<Status>) -> (&'static str, String) {
    let Some(status) = moved else {
        return ("New reply from the support team", body.to_string());
    };
    let (headline, next) = match status {
        Status::WaitingOnReporter => (
            "The team replied and needs more information from you",
            " Please reply on the tracking page; the ticket waits for you meanwhile.",
        ),
        Status::Resolved => (
            "The team replied and resolved your report",
            " If the problem is still there, reply on the tracking page and the ticket reopens.",
        ),
        Status::Closed => ("The team replied and closed your report", ""),
        Status::InProgress => ("The team replied and is working on your report", ""),
        Status::New | Status::Triaged => ("New reply from the support team", ""),
    };
    let text = format!(
        "{body}\n\nYour report's status: {}.{next}",
        status.reporter_label()
    );
    (headline, text)
}

/// The reporter answers on the tracking page: a resolved ticket reopens, a waiting one
/// resumes.
pub fn reporter_reply(
    conn: &mut DbConnection,
    desk: &Desk,
    token: &str,
    body: &str,
) -> Result<Ticket, AppError> {
    reporter_reply_with_files(conn, desk, token, body, &[]).map(|(ticket, _)| ticket)
}

/// `reporter_reply` with files, public: the reporter sees them beside their reply. The
/// text and the files are checked together, before anything is written.
pub fn reporter_reply_with_files(
    conn: &mut DbConnection,
    desk: &Desk,
    token: &str,
    body: &str,
    files: &[Upload],
) -> Result<(Ticket, Vec<Attachment>), AppError> {
    let body = checked_message(desk, body, files)?;
    write_transaction(conn, |conn| {
        let ticket = Ticket::find_by_token(conn, token)?;
        let saved = reporter_reply_within(conn, desk, &ticket, body)?;
        let reply = Event::newest_of_kind(conn, ticket.id, EventKind::ReporterReply)?;
        let now = desk.clock.now();
        let stored = attachments::store(conn, ticket.id, reply, files, true, "reporter", now)?;
        Ok((saved, stored))
    })
}

/// `reporter_reply` inside the caller's write transaction, `body` already checked.
pub fn reporter_reply_within(
    conn: &mut DbConnection,
    desk: &Desk,
    ticket: &Ticket,
    body: &str,
) -> Result<Ticket, AppError> {
    let now = desk.clock.now();
    let who = Who {
        name: "reporter".into(),
        user_id: None,
    };
    let mut notes = vec![(EventKind::ReporterReply, body.to_string(), true)];
    let mut set = TicketChangeset::default();
    let next = match ticket.status {
        Status::Resolved => Some(Status::Triaged),
        Status::WaitingOnReporter => Some(Status::InProgress),
        _ => None,
    };
    if let Some(next) = next {
        ticket_changes::pause_or_resume(desk, ticket, next, now, &mut set);
        set.status = Some(next);
        let what = if next == Status::Triaged {
            "reopened by the reporter's reply"
        } else {
            "resumed by the reporter's reply"
        };
        notes.push((
            EventKind::StatusChanged,
            format!("{what} ({} → {next})", ticket.status),
            true,
        ));
    }
    touch(conn, ticket, &who, &notes, set, now)
}

/// Merge a duplicate into another ticket: the duplicate closes, its reporter is told once,
/// its timeline stays where it was.
pub fn merge(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    duplicate_id: i64,
    into_id: i64,
) -> Result<Ticket, AppError> {
    merge_seen(conn, desk, who, duplicate_id, None, into_id)
}

/// `merge`, refused with a conflict when the duplicate is no longer at `seen_version` (the
/// version the agent saw, as a bulk merge from the queue gives it).
pub fn merge_seen(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    duplicate_id: i64,
    seen_version: Option<i32>,
    into_id: i64,
) -> Result<Ticket, AppError> {
    if duplicate_id == into_id {
        return Err(AppError::invalid(
            "into",
            "A ticket cannot be merged into itself.",
        ));
    }
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let duplicate = Ticket::find(conn, duplicate_id)?;
        if seen_version.is_some_and(|seen| seen != duplicate.version) {
            return Err(AppError::Conflict(format!(
                "{} changed since it was read.",
                duplicate.number()
            )));
        }
        let target = Ticket::find(conn, into_id).map_err(|e| match e {
            diesel::result::Error::NotFound => {
                AppError::invalid("into", "No such ticket to merge into.")
            }
            other => other.into(),
        })?;
        if let Some(already) = duplicate.merged_into {
            return Err(AppError::invalid(
                "into",
                format!(
                    "{} is already merged into {}.",
                    duplicate.number(),
                    TicketNumber::of(already)
                ),
            ));
        }
        if target.merged_into.is_some() {
            return Err(AppError::invalid(
                "into",
                format!(
                    "{} was itself merged; merge into the ticket it went to.",
                    target.number()
                ),
            ));
        }
        let set = TicketChangeset {
            status: Some(Status::Closed),
            merged_into: Some(Some(target.id)),
            ..TicketChangeset::default()
        };
        let note = format!(
            "merged into {} by {}: the same problem is followed there",
            target.number(),
            who.name
        );
        let duplicate = touch(
            conn,
            &duplicate,
            who,
            &[(EventKind::Merged, note, true)],
            set,
            now,
        )?;
        let note = format!(
            "{} merged into this ticket by {}",
            duplicate.number(),
            who.name
        );
        touch(
            conn,
            &target,
            who,
            &[(EventKind::MergeReceived, note, false)],
            TicketChangeset::default(),
            now,
        )?;
        let body = format!(
            "Your report describes the same problem as {}, which the team is already working on. Your report is closed as a duplicate; updates on the problem will reach you.",
            target.number()
        );
        let rendered = email::ticket_message(
            &desk.mail,
            &duplicate,
            &format!("Merged into {}", target.number()),
            &body,
        )?;
        let message = Message {
            template: "merged",
            recipient: &duplicate.reporter_email,
            rendered,
            first_in_thread: false,
            dedupe_key: None,
        };
        ticket_changes::queue(conn, &desk.mail, &duplicate, message, now)?;
        Ok(duplicate)
    })
}

/// Link a run by id (it may not have arrived yet), or unlink one.
pub fn link_run(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    id: i64,
    run_id: &str,
    link: bool,
) -> Result<Ticket, AppError> {
    let run_id = run_id.trim();
    let valid = !run_id.is_empty()
        && run_id.len() <= 128
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if !valid {
        return Err(AppError::invalid(
            "run_id",
            "A run id holds 1 to 128 letters, digits and - _ . :",
        ));
    }
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let ticket = Ticket::find(conn, id)?;
        let linked = TicketRun::for_ticket(conn, id)?;
        let present = linked.iter().any(|l| l.run_id == run_id);
        let note = match (link, present) {
            (true, true) => {
                return Err(AppError::invalid(
                    "run_id",
                    format!("Run {run_id} is already linked."),
                ));
            }
            (false, false) => {
                return Err(AppError::invalid(
                    "run_id",
                    format!("Run {run_id} is not linked."),
                ));
            }
            (true, false) => {
                let reason = format!("linked by {}", who.name);
                let position = linked.len() as i32;
                TicketRun::insert_many(
                    conn,
                    &[NewTicketRun {
                        ticket_id: id,
                        run_id,
                        reason: &reason,
                        position,
                        created_at: now,
                    }],
                )?;
                (
                    EventKind::RunLinked,
                    format!("linked run {run_id} ({reason})"),
                )
            }
            (false, true) => {
                TicketRun::delete(conn, id, run_id)?;
                (
                    EventKind::RunUnlinked,
                    format!("unlinked run {run_id} by {}", who.name),
                )
            }
        };
        touch(
            conn,
            &ticket,
            who,
            &[(note.0, note.1, true)],
            TicketChangeset::default(),
            now,
        )
    })
}

/// Confirm or reject a wrong-column-type report; confirmed ones count against the
/// semantic-type accuracy figure.
pub fn type_verdict(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    id: i64,
    confirmed: bool,
) -> Result<Ticket, AppError> {
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let ticket = Ticket::find(conn, id)?;
        if ticket.category != Category::WrongColumnType {
            return Err(AppError::invalid(
                "verdict",
                "Only wrong-column-type reports take a verdict; reclassify first if that is what this is.",
            ));
        }
        let verdict = if confirmed {
            TypeVerdict::Confirmed
        } else {
            TypeVerdict::Rejected
        };
        let set = TicketChangeset {
            type_verdict: Some(Some(verdict)),
            ..TicketChangeset::default()
        };
        let column = ticket
            .column_name
            .clone()
            .unwrap_or_else(|| "the column".into());
        let note = format!("wrong type {verdict} for {column} by {}", who.name);
        touch(
            conn,
            &ticket,
            who,
            &[(EventKind::TypeVerdict, note, true)],
            set,
            now,
        )
    })
}
