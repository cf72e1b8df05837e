//! `mail receive`: one message on standard input, as an MTA pipes it (a Postfix alias
//! `"|inspect-desk mail receive"`, like RT's rt-mailgate). The exit status is what the
//! MTA acts on: 0 taken (or deliberately ignored), 75 (`EX_TEMPFAIL`) when the desk
//! cannot take it now (the database, its settings) so the MTA queues and retries, 65
//! (`EX_DATAERR`) only for input that is not a message at all.
//!
//! `mail poll`: one pass over the IMAP mailbox, with what became of each message.

use std::io::Read;

use crate::clock::Clock;
use crate::config::Settings;
use crate::email::imap::Mailbox;
use crate::error::AppError;
use crate::services::imap_poll::{self, Handled, Handling, PollReport};
use crate::startup::build_desk;

use super::{describe, say};

/// sysexits.h: the input data was incorrect.
pub const EX_DATAERR: i32 = 65;
/// sysexits.h: a temporary failure; the sender should try again later.
pub const EX_TEMPFAIL: i32 = 75;

/// `mail receive`: exits with the MTA's status itself, so it returns only on success.
pub(super) fn receive(settings: &Settings) -> Result<(), String> {
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut raw) {
        crate::complain!("inspect-desk: cannot read the message from standard input: {e}");
        std::process::exit(EX_TEMPFAIL);
    }
    let desk = match build_desk(settings, Clock::system(), None) {
        Ok(desk) => desk,
        Err(e) => {
            crate::complain!("inspect-desk: the desk cannot take mail now ({e}); try again later");
            std::process::exit(EX_TEMPFAIL);
        }
    };
    let taken = desk
        .pool
        .get()
        .map_err(AppError::from)
        .and_then(|mut conn| crate::services::inbound::receive(&mut conn, &desk, &raw));
    match taken {
        Ok(receipt) => {
            let ticket = receipt.ticket.as_deref().unwrap_or("no ticket");
            let again = if receipt.repeat {
                " (taken before; nothing changed)"
            } else {
                ""
            };
            say!("{}: {ticket}{again}", receipt.outcome.label());
            Ok(())
        }
        Err(AppError::BadRequest(why)) => {
            crate::complain!("inspect-desk: {why}");
            std::process::exit(EX_DATAERR);
        }
        Err(e) => {
            crate::complain!(
                "inspect-desk: the message was not taken ({}); try again later",
                describe(e)
            );
            std::process::exit(EX_TEMPFAIL);
        }
    }
}

/// `mail poll`: read DESK_IMAP_URL once. Exits 75 when a message was left for the next
/// pass; a mailbox that cannot be read at all is an ordinary error.
pub(super) fn poll(settings: &Settings) -> Result<(), String> {
    let mailbox = Mailbox::from_settings(settings)?
        .ok_or("no mailbox to read: set DESK_IMAP_URL (imaps://user:pass@host/INBOX)")?;
    let desk = actix_web::web::Data::new(build_desk(settings, Clock::system(), None)?);
    let system = actix_web::rt::System::new();
    let report = system
        .block_on(imap_poll::poll(&desk, &mailbox))
        .map_err(|e| e.to_string())?;
    print(&report);
    let left = report.left();
    let unfinished = match &report.broke_off {
        Some(why) => format!("the connection broke ({why}); the rest waits for the next pass"),
        None if left > 0 => format!("{left} message(s) left for the next pass"),
        None => return Ok(()),
    };
    // As `receive` does: a scheduler (cron, a systemd timer) sees "try again later".
    crate::complain!("inspect-desk: {unfinished}");
    std::process::exit(EX_TEMPFAIL);
}

fn print(report: &PollReport) {
    say!(
        "{}: {} taken, {} taken before, {} taken by another desk, {} not a message, \
         {} left for the next pass; moved to {}",
        report.mailbox,
        report.taken(),
        report.repeats(),
        report.gone(),
        report.not_messages(),
        report.left(),
        report.done_folder
    );
    for message in &report.messages {
        say!("  {}", line(message));
    }
    let unreached = report.waiting - report.messages.len();
    if unreached > 0 {
        say!("  {unreached} more waiting: the next pass takes them");
    }
}

/// One message in words: its UID, what the desk did, and a failed move.
fn line(message: &Handled) -> String {
    let what = match &message.handling {
        Handling::Taken(receipt) => {
            let ticket = receipt
                .ticket
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default();
            if receipt.repeat {
                format!("taken before{ticket}")
            } else {
                format!("{}{ticket}", receipt.outcome.label())
            }
        }
        Handling::NotAMessage(why) => format!("not a message ({why})"),
        Handling::Left(why) => format!("left for the next pass: {why}"),
        Handling::Unreadable(why) => format!("left for the next pass: {why}"),
        Handling::TakenByAnother(receipt) => format!(
            "taken moments ago by another desk{}; it moves the message",
            receipt
                .ticket
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default()
        ),
        Handling::Gone => "already taken by another desk".to_string(),
    };
    match &message.move_error {
        Some(e) => format!("UID {}: {what}; not moved ({e})", message.uid),
        None => format!("UID {}: {what}", message.uid),
    }
}
