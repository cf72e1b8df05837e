//! `mail receive`: one message on standard input, as an MTA pipes it (a Postfix alias
//! `"|inspect-desk mail receive"`, like RT's rt-mailgate). The exit status is what the
//! MTA acts on: 0 taken (or deliberately ignored), 75 (`EX_TEMPFAIL`) when the desk
//! cannot take it now (the database, its settings) so the MTA queues and retries, 65
//! (`EX_DATAERR`) only for input that is not a message at all.

use std::io::Read;

use crate::clock::Clock;
use crate::config::Settings;
use crate::error::AppError;
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
