//! Delivering the outbox: claim due messages with a lease, send them, record the outcome.
//! The background jobs run a pass every few seconds, `inspect-desk outbox deliver` runs
//! one, and a drill delivers its own messages through the same claim and record.
//! Delivery is at least once: a crash between the server accepting a message and the row
//! being marked sent sends it again, with the same Message-ID so clients de-duplicate.

use actix_web::web;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::models::event::{Event, NewEvent};
use crate::db::models::mail_suppression::MailSuppression;
use crate::db::models::outbox::OutboxMessage;
use crate::db::models::ticket::Ticket;
use crate::db::schema::outbox;
use crate::db::{DbConnection, write_transaction};
use crate::domain::event::EventKind;
use crate::domain::outbox::OutboxStatus::{Dead, Pending, Sending, Sent};
use crate::email::transport::{self, Mailer};
use crate::error::AppError;
use crate::state::Desk;

pub const MAX_ATTEMPTS: i32 = 6;
/// How long a claim holds before another worker may take the message.
const LEASE: TimeDelta = TimeDelta::minutes(2);
/// A message is sent only while its claim has this long left: an SMTP exchange (15 s
/// timeout) and recording its outcome fit before another worker may take it.
const SEND_MARGIN: TimeDelta = TimeDelta::seconds(30);
const BATCH: i64 = 100;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub failed: usize,
    pub dead: usize,
}

/// Wait before attempt `n + 1` after `n` failures: 30 s, 1 min, 2 min, … capped at an hour.
pub fn backoff(failures: i32) -> TimeDelta {
    let seconds = 30i64 << (failures.clamp(1, 8) - 1);
    TimeDelta::seconds(seconds.min(3600))
}

/// One delivery pass over what is due now.
pub async fn deliver_due(
    desk: &web::Data<Desk>,
    mailer: &Mailer,
) -> Result<DeliveryReport, AppError> {
    let (claimed, held) = desk
        .db(|conn, desk| {
            let claimed = claim(conn, desk.clock.now(), BATCH, desk.drill)?;
            // Addresses that hard-bounced: few, read once a pass.
            let held = if claimed.is_empty() {
                Default::default()
            } else {
                MailSuppression::all(conn)?
            };
            Ok((claimed, held))
        })
        .await?;
    let mut report = DeliveryReport::default();
    let mut claimed = claimed.into_iter();
    while let Some(row) = claimed.next() {
        // A slow server can make a pass outlive its claim (100 messages at 1.5 s each),
        // after which another worker may take the rest: hand them back instead of
        // sending them a second time.
        if row
            .locked_until
            .is_none_or(|until| desk.clock.now() + SEND_MARGIN > until)
        {
            let unsent: Vec<OutboxMessage> = std::iter::once(row).chain(claimed).collect();
            tracing::info!(
                messages = unsent.len(),
                "outbox pass outlived its claim; the rest go back to the queue"
            );
            desk.db(move |conn, _| release(conn, &unsent)).await?;
            break;
        }
        let template = row.template.clone();
        let address = crate::email::bare_address(&row.recipient).to_lowercase();
        let outcome = match (
            held.get(&address),
            transport::build(&desk.mail, &desk.signing_key, &row),
        ) {
            (Some(reason), _) => Err(transport::SendError {
                message: format!(
                    "not sent: {address} bounced earlier ({reason}); an agent can clear the address on the ticket page"
                ),
                permanent: true,
            }),
            (None, Ok(message)) => mailer.send(message).await,
            (None, Err(e)) => Err(e),
        };
        let result = desk
            .db(move |conn, desk| record(conn, &row, outcome, desk.clock.now()))
            .await?;
        let outcome = match result {
            Outcome::Sent => {
                report.sent += 1;
                "sent"
            }
            Outcome::Retry => {
                report.failed += 1;
                "failed"
            }
            Outcome::Dead => {
                report.dead += 1;
                "dead_lettered"
            }
        };
        if template == "escalation" && desk.drill == crate::domain::drill::LIVE {
            crate::telemetry::metrics::escalation_email(outcome);
        }
    }
    Ok(report)
}

/// Take up to `limit` due messages: new ones, retries whose time has come, and ones whose
/// sender's lease ran out (it died). Only `drill`'s messages (`drill::LIVE`: real mail): a
/// drill delivers its own, so it can rehearse a mail outage.
///
/// One write transaction picks the rows and leases them. On PostgreSQL the rows are picked
/// `FOR UPDATE SKIP LOCKED`: desks sharing the database each take rows no other one is
/// taking, without waiting for each other. On SQLite the write transaction alone keeps
/// two claims apart (one writer at a time). Either way a row another worker leased in the
/// meantime no longer matches the filter, so nobody sends a message twice.
pub fn claim(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
    drill: i64,
) -> Result<Vec<OutboxMessage>, AppError> {
    let lease = now + LEASE;
    write_transaction(conn, |conn| {
        let due = outbox::table
            .filter(outbox::drill.eq(drill))
            .filter(
                // A first attempt goes out at once (its queue time may be a drill's moved
                // clock); retries wait for their backoff.
                outbox::status
                    .eq(Pending)
                    .and(outbox::attempts.eq(0).or(outbox::next_attempt_at.le(now)))
                    .or(outbox::status.eq(Sending).and(outbox::locked_until.le(now))),
            )
            .order(outbox::id.asc())
            .limit(limit)
            .select(outbox::id);
        let ids: Vec<i64> = match conn {
            DbConnection::Postgres(pg) => due.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(c) => due.load(c)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
            .set((
                outbox::status.eq(Sending),
                outbox::locked_until.eq(Some(lease)),
            ))
            .execute(conn)?;
        Ok(outbox::table
            .filter(outbox::id.eq_any(&ids))
            .order(outbox::id.asc())
            .select(OutboxMessage::as_select())
            .load(conn)?)
    })
}

/// Put claimed messages back in the queue, unless their claim already passed to another
/// worker.
fn release(conn: &mut DbConnection, rows: &[OutboxMessage]) -> Result<(), AppError> {
    for row in rows {
        diesel::update(
            outbox::table.find(row.id).filter(
                outbox::status
                    .eq(Sending)
                    .and(outbox::locked_until.eq(row.locked_until)),
            ),
        )
        .set((
            outbox::status.eq(Pending),
            outbox::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    }
    Ok(())
}

pub enum Outcome {
    Sent,
    Retry,
    Dead,
}

/// Record a delivery attempt's outcome for a claimed row.
pub fn record(
    conn: &mut DbConnection,
    row: &OutboxMessage,
    outcome: Result<(), transport::SendError>,
    now: NaiveDateTime,
) -> Result<Outcome, AppError> {
    write_transaction(conn, |conn| {
        let target = outbox::table.find(row.id);
        let (result, kind, detail) = match outcome {
            Ok(()) => {
                diesel::update(target)
                    .set((
                        outbox::status.eq(Sent),
                        outbox::sent_at.eq(Some(now)),
                        outbox::locked_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?;
                (
                    Outcome::Sent,
                    EventKind::EmailSent,
                    format!("{} email sent", row.template.replace('_', " ")),
                )
            }
            Err(e) => {
                let attempts = row.attempts + 1;
                let dead = e.permanent || attempts >= MAX_ATTEMPTS;
                let (status, next) = if dead {
                    (Dead, now)
                } else {
                    (Pending, now + backoff(attempts))
                };
                diesel::update(target)
                    .set((
                        outbox::status.eq(status),
                        outbox::attempts.eq(attempts),
                        outbox::next_attempt_at.eq(next),
                        outbox::last_error
                            .eq(Some(e.message.chars().take(500).collect::<String>())),
                        outbox::locked_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?;
                let what = row.template.replace('_', " ");
                if dead {
                    (
                        Outcome::Dead,
                        EventKind::EmailDeadLettered,
                        format!("{what} email given up after {attempts} attempt(s)"),
                    )
                } else {
                    (
                        Outcome::Retry,
                        EventKind::EmailFailed,
                        format!("{what} email failed (attempt {attempts}); retrying"),
                    )
                }
            }
        };
        if let Some(ticket_id) = row.ticket_id {
            let version = Ticket::find(conn, ticket_id)?.version;
            Event::insert_many(
                conn,
                &[NewEvent {
                    ticket_id,
                    kind,
                    actor: "desk",
                    detail: &detail,
                    public: false,
                    created_at: now,
                    version,
                }],
            )?;
        }
        Ok(result)
    })
}
