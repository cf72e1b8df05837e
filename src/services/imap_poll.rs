//! Reading the desk's mailbox (`DESK_IMAP_URL`), as Zammad and django-helpdesk read a
//! hosted one. One pass: sign in, list what waits in the folder, and for each message
//! fetch it, hand it to `inbound::receive`, and move it to the done folder.
//!
//! Each message is taken once, also with several desks reading the same mailbox: receive
//! is idempotent by Message-ID (a copy taken twice changes nothing the second time), and
//! the move after taking makes another desk's fetch of that UID come back empty. When
//! two desks fetch the same message before either has moved it, the database decides:
//! one takes it and moves it, the other finds it taken moments ago and leaves the move
//! to the taker (two MOVEs of one message may both copy it, as Dovecot's do). A repeat
//! taken longer ago (a taker that stopped before moving, a message put back) is moved
//! by whoever finds it. A message whose receive failed for a temporary reason (the
//! database) stays for the next pass; one that is not a message at all is moved too,
//! since it will never parse. A failure on one message is recorded and the pass goes on
//! with the next.
//!
//! The background jobs run a pass every `DESK_IMAP_POLL_SECONDS`; `inspect-desk mail
//! poll` runs one.

use actix_web::web;
use chrono::{NaiveDateTime, TimeDelta};

use crate::db::DbConnection;
use crate::db::models::inbound_mail::InboundMail;
use crate::email::imap::{Mailbox, MailboxError, MailboxSession};
use crate::error::AppError;
use crate::services::inbound::{self, Receipt};
use crate::state::Desk;

/// Messages taken in one pass at most; the rest wait for the next, so a pass over a
/// large backlog ends (and reports) in reasonable time.
const BATCH: usize = 100;

/// A repeat taken more recently than this is left for the desk that took it to move: it
/// is most likely moving it right now.
const TAKER_MOVES_WITHIN: TimeDelta = TimeDelta::minutes(2);

/// What became of one message of the folder.
#[derive(Debug)]
pub enum Handling {
    /// Received (or found taken before: `receipt.repeat`), and moved.
    Taken(Receipt),
    /// Found taken moments ago, most likely by another desk reading at the same time:
    /// left for that desk to move.
    TakenByAnother(Receipt),
    /// Not a message at all; moved out of the way.
    NotAMessage(String),
    /// Receive failed for a temporary reason: left in the folder for the next pass.
    Left(String),
    /// Gone before it was fetched: another desk took it.
    Gone,
    /// Fetching it failed; it stays for the next pass.
    Unreadable(String),
}

#[derive(Debug)]
pub struct Handled {
    pub uid: u32,
    pub handling: Handling,
    /// Taken, but moving it failed: the next pass finds it again and takes it as a
    /// repeat.
    pub move_error: Option<String>,
}

/// What one pass did.
#[derive(Debug)]
pub struct PollReport {
    /// The mailbox as `MailboxUrl::describe` shows it (no credentials).
    pub mailbox: String,
    pub done_folder: String,
    /// Messages waiting when the pass listed them (it handles at most `BATCH`).
    pub waiting: usize,
    pub messages: Vec<Handled>,
    /// The connection broke during the pass: why. The messages not reached yet wait
    /// for the next pass.
    pub broke_off: Option<String>,
}

impl PollReport {
    fn count(&self, test: impl Fn(&Handled) -> bool) -> usize {
        self.messages.iter().filter(|m| test(m)).count()
    }

    /// Received for the first time.
    pub fn taken(&self) -> usize {
        self.count(|m| matches!(&m.handling, Handling::Taken(r) if !r.repeat))
    }

    /// Received before (by this desk or another).
    pub fn repeats(&self) -> usize {
        self.count(|m| matches!(&m.handling, Handling::Taken(r) if r.repeat))
    }

    pub fn not_messages(&self) -> usize {
        self.count(|m| matches!(m.handling, Handling::NotAMessage(_)))
    }

    /// Left in the folder for the next pass (temporary failures and unreadable ones).
    pub fn left(&self) -> usize {
        self.count(|m| matches!(m.handling, Handling::Left(_) | Handling::Unreadable(_)))
    }

    /// Gone before the fetch, or taken at the same moment by another desk.
    pub fn gone(&self) -> usize {
        self.count(|m| matches!(m.handling, Handling::Gone | Handling::TakenByAnother(_)))
    }

    pub fn move_failures(&self) -> usize {
        self.count(|m| m.move_error.is_some())
    }
}

/// One pass over the mailbox. An error means the pass could not run at all (the server
/// unreachable, the sign-in refused, the done folder impossible to create); failures of
/// single messages are in the report.
pub async fn poll(desk: &web::Data<Desk>, mailbox: &Mailbox) -> Result<PollReport, MailboxError> {
    let mut session = MailboxSession::open(&mailbox.url).await?;
    let result = take_waiting(desk, mailbox, &mut session).await;
    session.close().await;
    result
}

async fn take_waiting(
    desk: &web::Data<Desk>,
    mailbox: &Mailbox,
    session: &mut MailboxSession,
) -> Result<PollReport, MailboxError> {
    session.ensure_folder(&mailbox.done_folder).await?;
    let (uids, waiting) = session.waiting(BATCH).await?;
    let mut report = PollReport {
        mailbox: mailbox.url.describe(),
        done_folder: mailbox.done_folder.clone(),
        waiting,
        messages: Vec::with_capacity(uids.len()),
        broke_off: None,
    };
    for uid in uids {
        let (handling, mut broken) = match take_one(desk, session, uid).await {
            Ok(handling) => (handling, None),
            Err(e) if e.broken => (Handling::Unreadable(e.to_string()), Some(e.to_string())),
            Err(e) => (Handling::Unreadable(e.to_string()), None),
        };
        let move_error = match handling {
            Handling::Taken(_) | Handling::NotAMessage(_) => {
                match session.move_to(uid, &mailbox.done_folder).await {
                    Ok(()) => None,
                    Err(e) => {
                        if e.broken {
                            broken = Some(e.to_string());
                        }
                        Some(e.to_string())
                    }
                }
            }
            _ => None,
        };
        report.messages.push(Handled {
            uid,
            handling,
            move_error,
        });
        // Every further command would wait for its timeout on a dead connection.
        if broken.is_some() {
            report.broke_off = broken;
            break;
        }
    }
    Ok(report)
}

/// Fetch and receive one message; an error is the fetch's.
async fn take_one(
    desk: &web::Data<Desk>,
    session: &mut MailboxSession,
    uid: u32,
) -> Result<Handling, MailboxError> {
    let Some(raw) = session.fetch(uid).await? else {
        return Ok(Handling::Gone);
    };
    let taken = desk
        .db(move |conn, desk| {
            let receipt = inbound::receive(conn, desk, &raw)?;
            let taken_at = if receipt.repeat {
                taken_at(conn, &raw)?
            } else {
                None
            };
            Ok((receipt, taken_at))
        })
        .await;
    match taken {
        Ok((receipt, Some(at))) if at > desk.clock.now() - TAKER_MOVES_WITHIN => {
            Ok(Handling::TakenByAnother(receipt))
        }
        Ok((receipt, _)) => Ok(Handling::Taken(receipt)),
        Err(AppError::BadRequest(why)) => Ok(Handling::NotAMessage(why)),
        Err(e) => {
            e.log();
            Ok(Handling::Left(e.to_string()))
        }
    }
}

/// When the message in `raw` was taken, by its key (Message-ID or digest).
fn taken_at(conn: &mut DbConnection, raw: &[u8]) -> Result<Option<NaiveDateTime>, AppError> {
    let Ok(incoming) = inbound::parse::read(raw) else {
        return Ok(None);
    };
    Ok(InboundMail::by_key(conn, &incoming.key)?.map(|taken| taken.received_at))
}
