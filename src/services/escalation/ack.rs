//! Acknowledging an escalation: the signed links emailed to owners, and the
//! acknowledgement itself, which gives an unassigned ticket to whoever acknowledged.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::escalation::TicketEscalation;
use crate::db::models::event::{Event, NewEvent};
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::db::schema::tickets;
use crate::db::{DbConnection, write_transaction};
use crate::domain::event::EventKind;
use crate::domain::secret;
use crate::domain::status::Status;
use crate::error::AppError;
use crate::services::ticket_changes::{self, Assignee, Changes, Tell, Who};
use crate::state::Desk;

/// What an acknowledge link names: the ticket, the step that fired, and whom the email
/// went to (absent in links made before they named one).
#[derive(Debug, Clone, PartialEq)]
pub struct AckClaim {
    pub ticket_id: i64,
    pub step: String,
    pub recipient: Option<String>,
}

/// `<hex(ticket:step:expiry)>.<signature>`: opaque, unforgeable, expiring.
pub fn ack_token(key: &[u8], ticket_id: i64, step: &str, expires: NaiveDateTime) -> String {
    let claim = AckClaim {
        ticket_id,
        step: step.to_string(),
        recipient: None,
    };
    ack_token_for(key, &claim, expires)
}

/// `<hex(ticket:step:expiry[:recipient])>.<signature>`: opaque, unforgeable, expiring.
pub fn ack_token_for(key: &[u8], claim: &AckClaim, expires: NaiveDateTime) -> String {
    let mut payload = format!(
        "{}:{}:{}",
        claim.ticket_id,
        claim.step,
        expires.and_utc().timestamp()
    );
    if let Some(recipient) = &claim.recipient {
        payload.push(':');
        payload.push_str(recipient);
    }
    let hex: String = payload.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.{}", secret::sign(key, &payload))
}

/// What an acknowledge token names, if it is genuine and unexpired.
pub fn verify_ack_token(key: &[u8], token: &str, now: NaiveDateTime) -> Result<AckClaim, String> {
    let (hex, signature) = token
        .split_once('.')
        .ok_or("this acknowledge link is malformed")?;
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    let payload = bytes
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or("this acknowledge link is malformed")?;
    if !secret::constant_time_eq(secret::sign(key, &payload).as_bytes(), signature.as_bytes()) {
        return Err("this acknowledge link is not genuine".into());
    }
    let mut parts = payload.splitn(4, ':');
    let (Some(id), Some(step), Some(expires)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("this acknowledge link is malformed".into());
    };
    let expires: i64 = expires
        .parse()
        .map_err(|_| "this acknowledge link is malformed")?;
    if now.and_utc().timestamp() > expires {
        return Err(
            "this acknowledge link has expired; acknowledge from the escalation view".into(),
        );
    }
    Ok(AckClaim {
        ticket_id: id
            .parse()
            .map_err(|_| "this acknowledge link is malformed")?,
        step: step.to_string(),
        recipient: parts.next().map(str::to_string),
    })
}

/// Which tickets' escalations someone may acknowledge.
#[derive(Debug, Clone, PartialEq)]
pub enum AckScope {
    /// Any ticket: an admin, a program with a token, or the holder of an emailed link
    /// (the link itself proves they were sent the escalation).
    AnyTeam,
    /// Only tickets of these teams (their keys): an owner acts on their own teams.
    Teams(Vec<String>),
}

/// What acknowledging did.
#[derive(Debug)]
pub struct Acknowledgement {
    /// False when it was already acknowledged: nothing changed.
    pub done: bool,
    /// The ticket as it is now.
    pub ticket: Ticket,
    /// The person who acknowledged took the unassigned ticket.
    pub took_ownership: bool,
}

/// Stop further steps until the ticket changes. Returns false when already acknowledged;
/// a ticket of a team outside `scope` is refused (403) and nothing changes.
pub fn acknowledge(
    conn: &mut DbConnection,
    desk: &Desk,
    ticket_id: i64,
    by: &str,
    step: Option<&str>,
    scope: &AckScope,
) -> Result<bool, AppError> {
    let who = Who {
        name: by.to_string(),
        user_id: None,
    };
    Ok(acknowledge_as(conn, desk, ticket_id, &who, step, scope)?.done)
}

/// Acknowledge as `who`, in one transaction. A person (an account) who acknowledges an
/// unassigned ticket takes it — they can hand it on — and a `new` ticket becomes
/// `triaged`: someone owns it now. Further steps wait until the ticket changes.
pub fn acknowledge_as(
    conn: &mut DbConnection,
    desk: &Desk,
    ticket_id: i64,
    who: &Who,
    step: Option<&str>,
    scope: &AckScope,
) -> Result<Acknowledgement, AppError> {
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let mut ticket = Ticket::find(conn, ticket_id)?;
        if let AckScope::Teams(teams) = scope
            && !teams.contains(&ticket.team)
        {
            let team = desk
                .model
                .team(&ticket.team)
                .map_or(&ticket.team, |t| &t.name);
            return Err(AppError::Forbidden(format!(
                "{} belongs to {team}, not to a team you are on; its escalations are theirs to acknowledge.",
                ticket.number()
            )));
        }
        let already = match step {
            Some(step) => TicketEscalation::find(conn, ticket_id, step)?
                .ok_or(AppError::NotFound)?
                .acknowledged_at
                .is_some(),
            None => ticket.acknowledged_at.is_some(),
        };
        if already {
            return Ok(Acknowledgement {
                done: false,
                ticket,
                took_ownership: false,
            });
        }
        let mut took_ownership = false;
        if let Some(user_id) = who.user_id
            && ticket.assignee_id.is_none()
        {
            let changes = Changes {
                assignee: Some(Assignee::User(user_id)),
                status: (ticket.status == Status::New).then_some(Status::Triaged),
                ..Changes::default()
            };
            ticket =
                ticket_changes::apply(conn, desk, who, &ticket, &changes, Tell::Reporter, now)?
                    .ok_or_else(|| {
                        AppError::Conflict(format!(
                            "{} changed while it was being acknowledged; try again.",
                            ticket.number()
                        ))
                    })?;
            took_ownership = true;
        }
        TicketEscalation::acknowledge_all(conn, ticket_id, &who.name, now)?;
        // After the ownership change, which re-arms escalation: the acknowledgement holds
        // until the next change.
        diesel::update(tickets::table.find(ticket_id))
            .set((
                tickets::acknowledged_at.eq(Some(now)),
                tickets::next_escalation_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        let detail = format!(
            "escalation acknowledged by {}; further steps wait until the ticket changes",
            who.name
        );
        Event::insert_many(
            conn,
            &[NewEvent {
                ticket_id,
                kind: EventKind::Acknowledged,
                actor: &who.name,
                detail: &detail,
                public: false,
                created_at: now,
                version: ticket.version,
            }],
        )?;
        ticket.acknowledged_at = Some(now);
        ticket.next_escalation_at = None;
        Ok(Acknowledgement {
            done: true,
            ticket,
            took_ownership,
        })
    })
}

/// The account an emailed acknowledge link was sent to, when it is a person who can work
/// tickets (a team's queue address has no account).
pub fn link_holder(conn: &mut DbConnection, claim: &AckClaim) -> Result<Option<User>, AppError> {
    let Some(address) = &claim.recipient else {
        return Ok(None);
    };
    Ok(User::find_by_email(conn, address)?
        .filter(|u| u.is_active() && u.role.includes(crate::domain::role::Role::Agent)))
}

/// The account that created an API token, when it can work tickets: a token acts for the
/// person who made it.
pub fn token_holder(conn: &mut DbConnection, token_id: i64) -> Result<Option<User>, AppError> {
    use crate::db::schema::api_tokens;
    let created_by: Option<String> = api_tokens::table
        .find(token_id)
        .select(api_tokens::created_by)
        .first(conn)
        .optional()?;
    let Some(email) = created_by else {
        return Ok(None);
    };
    Ok(User::find_by_email(conn, &email)?
        .filter(|u| u.is_active() && u.role.includes(crate::domain::role::Role::Agent)))
}
