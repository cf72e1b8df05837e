//! `mail poll`: one pass over the IMAP mailbox, with what became of each message.

use crate::clock::Clock;
use crate::config::Settings;
use crate::email::imap::Mailbox;
use crate::services::imap_poll::{self, Handled, Handling, PollReport};
use crate::startup::build_desk;

use super::say;

/// `mail poll`: read DESK_IMAP_URL once.
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
    match &report.broke_off {
        Some(why) => Err(format!(
            "the connection broke ({why}); the rest waits for the next pass"
        )),
        None if left > 0 => Err(format!("{left} message(s) left for the next pass")),
        None => Ok(()),
    }
}

fn print(report: &PollReport) {
    say!(
        "{}: {} taken, {} taken before, {} not a message, {} left for the next pass; \
         moved to {}",
        report.mailbox,
        report.taken(),
        report.repeats(),
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
        Handling::Gone => "already taken by another desk".to_string(),
    };
    match &message.move_error {
        Some(e) => format!("UID {}: {what}; not moved ({e})", message.uid),
        None => format!("UID {}: {what}", message.uid),
    }
}
