//! Mail in: one service behind `inspect-desk mail receive`, `POST /api/v1/inbound-mail`
//! and the IMAP poller. A message is parsed, kept whole, matched to a ticket and acted on
//! in one transaction; a replayed message (same Message-ID) is taken once.

use crate::db::DbConnection;
use crate::domain::inbound::Outcome;
use crate::error::AppError;
use crate::state::Desk;

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
    let _ = (conn, desk, raw);
    Err(AppError::internal_msg(
        "inbound mail is not wired yet".into(),
    ))
}
