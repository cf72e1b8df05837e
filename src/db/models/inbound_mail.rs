//! `inbound_mail`: every message the desk received, whole, and what it did with it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{inbound_mail, outbox};
use crate::domain::inbound::Outcome;

/// A received message as pages list it: everything but its bytes.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inbound_mail)]
pub struct InboundMail {
    pub id: i64,
    pub message_key: String,
    pub sender: String,
    pub subject: String,
    pub ticket_id: Option<i64>,
    pub event_id: Option<i64>,
    #[diesel(deserialize_as = String)]
    pub outcome: OutcomeText,
    pub detail: String,
    pub received_at: NaiveDateTime,
}

/// An outcome as stored; one this version does not know reads as "unmatched".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeText(pub Outcome);

impl From<String> for OutcomeText {
    fn from(value: String) -> Self {
        OutcomeText(Outcome::parse(&value).unwrap_or(Outcome::Unmatched))
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = inbound_mail)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewInboundMail<'a> {
    pub message_key: &'a str,
    pub sender: &'a str,
    pub subject: &'a str,
    pub ticket_id: Option<i64>,
    pub event_id: Option<i64>,
    pub outcome: &'a str,
    pub detail: &'a str,
    pub received_at: NaiveDateTime,
    pub raw: &'a [u8],
}

impl InboundMail {
    pub fn insert(conn: &mut DbConnection, new: &NewInboundMail<'_>) -> QueryResult<usize> {
        diesel::insert_into(inbound_mail::table)
            .values(new)
            .execute(conn)
    }

    pub fn by_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<InboundMail>> {
        inbound_mail::table
            .filter(inbound_mail::message_key.eq(key))
            .select(InboundMail::as_select())
            .first(conn)
            .optional()
    }

    /// Messages from `sender` since `since` that the desk acted on or held: what the
    /// per-sender limit counts (automatic mail and bounces are not news from a person).
    pub fn count_from(
        conn: &mut DbConnection,
        sender: &str,
        since: NaiveDateTime,
    ) -> QueryResult<i64> {
        inbound_mail::table
            .filter(inbound_mail::sender.eq(sender))
            .filter(inbound_mail::received_at.ge(since))
            .filter(inbound_mail::outcome.ne_all([
                Outcome::AutoReply.as_str(),
                Outcome::Bounce.as_str(),
                Outcome::UnmatchedBounce.as_str(),
            ]))
            .count()
            .get_result(conn)
    }

    /// The ticket a thread belongs to: a message the desk sent (the outbox) or received
    /// with one of these Message-IDs (without angle brackets), the most recent first.
    pub fn ticket_of_thread(
        conn: &mut DbConnection,
        message_ids: &[String],
    ) -> QueryResult<Option<i64>> {
        if message_ids.is_empty() {
            return Ok(None);
        }
        let bracketed: Vec<String> = message_ids.iter().map(|id| format!("<{id}>")).collect();
        let sent: Option<Option<i64>> = outbox::table
            .filter(outbox::message_id.eq_any(&bracketed))
            .filter(outbox::ticket_id.is_not_null())
            .order(outbox::id.desc())
            .select(outbox::ticket_id)
            .first(conn)
            .optional()?;
        if let Some(Some(id)) = sent {
            return Ok(Some(id));
        }
        let received: Option<Option<i64>> = inbound_mail::table
            .filter(inbound_mail::message_key.eq_any(message_ids))
            .filter(inbound_mail::ticket_id.is_not_null())
            .order(inbound_mail::id.desc())
            .select(inbound_mail::ticket_id)
            .first(conn)
            .optional()?;
        Ok(received.flatten())
    }

    /// One received message of a ticket, with its bytes.
    pub fn with_raw(
        conn: &mut DbConnection,
        ticket_id: i64,
        id: i64,
    ) -> QueryResult<Option<(InboundMail, Vec<u8>)>> {
        inbound_mail::table
            .filter(inbound_mail::id.eq(id))
            .filter(inbound_mail::ticket_id.eq(ticket_id))
            .select((InboundMail::as_select(), inbound_mail::raw))
            .first(conn)
            .optional()
    }

    /// Record a new outcome for a received message; false when it was no longer `from`
    /// (another agent got there first).
    pub fn change_outcome(
        conn: &mut DbConnection,
        id: i64,
        from: Outcome,
        to: Outcome,
        detail: &str,
    ) -> QueryResult<bool> {
        diesel::update(
            inbound_mail::table
                .filter(inbound_mail::id.eq(id))
                .filter(inbound_mail::outcome.eq(from.as_str())),
        )
        .set((
            inbound_mail::outcome.eq(to.as_str()),
            inbound_mail::detail.eq(detail),
        ))
        .execute(conn)
        .map(|n| n == 1)
    }

    /// The latest received messages, newest first.
    pub fn recent(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<InboundMail>> {
        inbound_mail::table
            .order(inbound_mail::id.desc())
            .limit(limit)
            .select(InboundMail::as_select())
            .load(conn)
    }

    /// A ticket's received messages, oldest first.
    pub fn for_ticket(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<InboundMail>> {
        inbound_mail::table
            .filter(inbound_mail::ticket_id.eq(ticket_id))
            .order(inbound_mail::id.asc())
            .select(InboundMail::as_select())
            .load(conn)
    }
}
