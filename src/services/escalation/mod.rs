//! The escalation engine: fire each due step of a ticket's chain exactly once, queue its
//! emails in the same transaction, acknowledge.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::models::escalation::{NewTicketEscalation, TicketEscalation};
use crate::db::models::event::{Event, NewEvent};
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::db::schema::tickets;
use crate::db::{DbConnection, write_transaction};
use crate::domain::escalation::{Firing, Step};
use crate::domain::event::EventKind;
use crate::domain::status::Status;
use crate::domain::ticket_number::TicketNumber;
use crate::email;
use crate::error::AppError;
use crate::services::ticket_changes::{self, Message};
use crate::state::Desk;

mod ack;
mod mail;

pub use ack::{
    AckClaim, AckScope, Acknowledgement, ack_token, ack_token_for, acknowledge, acknowledge_as,
    link_holder, token_holder, verify_ack_token,
};
use mail::{Fired, clocks_of, escalation_email, step_recipients};

/// How long an acknowledge link in an email works.
pub const ACK_LINK_LIFETIME: TimeDelta = TimeDelta::days(7);

/// What one sweep did, line by line for the operator.
#[derive(Debug, Default)]
pub struct SweepReport {
    pub tickets: usize,
    pub steps: usize,
    pub emails: usize,
    pub lines: Vec<String>,
}

/// One pass as of `now`: tickets whose next escalation instant has come, through an index,
/// so the cost follows what is due, not what is open.
pub fn sweep(desk: &Desk, now: NaiveDateTime) -> Result<SweepReport, AppError> {
    let mut conn = desk.pool.get()?;
    // Every due id at once (ids only: 10k of them are 80 KB); each ticket is then
    // escalated in its own short transaction.
    // Only this desk's own tickets: the live desk leaves a drill's to the drill.
    let due: Vec<i64> = tickets::table
        .filter(tickets::next_escalation_at.le(now))
        .filter(tickets::drill.eq(desk.drill))
        .order((tickets::next_escalation_at.asc(), tickets::id.asc()))
        .select(tickets::id)
        .load(&mut conn)?;
    let mut report = SweepReport {
        tickets: due.len(),
        ..SweepReport::default()
    };
    // Tickets go in batches, one write transaction each: most of a ticket's cost is the
    // transaction around it. A batch that meets a step another instance already recorded
    // rolls back whole and its tickets go one by one.
    for batch in due.chunks(BATCH) {
        match write_transaction(&mut conn, |conn| {
            // The batch's tickets and recorded steps in two queries, not two per ticket.
            let mut tickets: std::collections::HashMap<i64, Ticket> = lock_due(conn, batch, now)?
                .into_iter()
                .map(|t| (t.id, t))
                .collect();
            let mut done: std::collections::HashMap<i64, Vec<String>> =
                TicketEscalation::for_tickets(conn, batch)?
                    .into_iter()
                    .map(|(id, steps)| (id, steps.into_iter().map(|e| e.step).collect()))
                    .collect();
            batch
                .iter()
                .filter_map(|id| Some((tickets.remove(id)?, done.remove(id).unwrap_or_default())))
                .map(|(ticket, done)| escalate_in(conn, desk, ticket, &done, now))
                .collect::<Result<Vec<Escalated>, AppError>>()
        }) {
            Ok(results) => {
                for (steps, emails, lines) in results {
                    report.steps += steps;
                    report.emails += emails;
                    report.lines.extend(lines);
                }
            }
            Err(e) if is_duplicate_step(&e) => {
                for id in batch {
                    one_by_one(&mut conn, desk, *id, now, &mut report)?;
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// Tickets escalated in one transaction.
const BATCH: usize = 500;

/// The tickets of `batch` still due at `now`, read for this transaction to escalate.
///
/// On PostgreSQL they are locked `FOR UPDATE SKIP LOCKED`: desks sharing the database
/// each take the tickets no other one is escalating, without waiting, and one that
/// another desk escalated since the due list was read is no longer due (its next
/// escalation moved on). On SQLite the write transaction alone keeps sweeps apart.
fn lock_due(
    conn: &mut DbConnection,
    batch: &[i64],
    now: NaiveDateTime,
) -> Result<Vec<Ticket>, AppError> {
    let due = tickets::table
        .filter(tickets::id.eq_any(batch))
        .filter(tickets::next_escalation_at.le(now));
    Ok(match conn {
        DbConnection::Postgres(pg) => due
            .select(Ticket::as_select())
            .for_update()
            .skip_locked()
            .load(pg)?,
        DbConnection::Sqlite(_) => due.select(Ticket::as_select()).load(conn)?,
    })
}

fn is_duplicate_step(e: &AppError) -> bool {
    e.is_db_conflict()
}

fn one_by_one(
    conn: &mut DbConnection,
    desk: &Desk,
    id: i64,
    now: NaiveDateTime,
    report: &mut SweepReport,
) -> Result<(), AppError> {
    match write_transaction(conn, |conn| {
        let Some(ticket) = lock_due(conn, &[id], now)?.pop() else {
            // Escalated by another desk meanwhile, or being escalated by one now.
            return Ok((0, 0, Vec::new()));
        };
        let done: Vec<String> = TicketEscalation::for_ticket(conn, id)?
            .into_iter()
            .map(|e| e.step)
            .collect();
        escalate_in(conn, desk, ticket, &done, now)
    }) {
        Ok((steps, emails, lines)) => {
            report.steps += steps;
            report.emails += emails;
            report.lines.extend(lines);
            Ok(())
        }
        // Another instance recorded the same step first: its emails are queued; ours
        // rolled back with the transaction.
        Err(e) if is_duplicate_step(&e) => {
            report.lines.push(format!(
                "{}: already escalated by another instance",
                TicketNumber::of(id)
            ));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

type Escalated = (usize, usize, Vec<String>);

/// Fire the due steps of one ticket; call inside a write transaction.
fn escalate_in(
    conn: &mut DbConnection,
    desk: &Desk,
    ticket: Ticket,
    done: &[String],
    now: NaiveDateTime,
) -> Result<Escalated, AppError> {
    {
        let id = ticket.id;
        if ticket.next_escalation_at.is_none_or(|at| at > now) {
            return Ok((0, 0, Vec::new()));
        }
        let status = ticket.status;
        let active = matches!(status, Status::New | Status::Triaged | Status::InProgress);
        // Paused, done, acknowledged, or part of an incident (the incident escalates).
        if !active || ticket.acknowledged_at.is_some() || ticket.parent_id.is_some() {
            set_next(conn, id, None)?;
            return Ok((0, 0, Vec::new()));
        }
        let severity = ticket.severity;
        let clocks = clocks_of(&ticket);
        let calendar = desk.model.calendar_for(&ticket.team, severity);
        let steps = &desk.model.escalation;
        let pending: Vec<Firing> = steps
            .iter()
            .enumerate()
            .filter(|(_, step)| step.applies(severity, &ticket.team))
            .flat_map(|(i, step)| {
                // Reminders wait out quiet hours; breaches page whenever they happen.
                let quiet = matches!(
                    step.trigger,
                    crate::domain::escalation::Trigger::Percent(..)
                );
                step.firings(i, &clocks).into_iter().map(move |mut f| {
                    if quiet {
                        f.at = calendar.next_open(f.at);
                    }
                    f
                })
            })
            .filter(|f| !done.contains(&f.key))
            .collect();
        let (due, later): (Vec<Firing>, Vec<Firing>) =
            pending.into_iter().partition(|f| f.at <= now);
        let mut fired = (0, 0, Vec::new());
        for firing in latest_per_step(&due) {
            let emails = fire(conn, desk, &ticket, &steps[firing.step], &firing.key, now)?;
            fired.0 += 1;
            fired.1 += emails.len();
            fired.2.push(format!(
                "{}: step {} → {}",
                ticket.number(),
                firing.key,
                emails.join(", ")
            ));
        }
        // Earlier repeats a late sweep skipped are recorded, so they never fire later.
        for skipped in due
            .iter()
            .filter(|f| !latest_per_step(&due).iter().any(|l| l.key == f.key))
        {
            TicketEscalation::insert(
                conn,
                &NewTicketEscalation {
                    ticket_id: id,
                    step: &skipped.key,
                    at: now,
                    recipients: "(superseded by a later repeat)",
                },
            )?;
        }
        set_next(conn, id, later.iter().map(|f| f.at).min())?;
        Ok(fired)
    }
}

/// Of several due firings of one step (a sweep that ran late), only the last fires.
fn latest_per_step(due: &[Firing]) -> Vec<Firing> {
    let mut latest: Vec<Firing> = Vec::new();
    for f in due {
        match latest.iter_mut().find(|l| l.step == f.step) {
            Some(l) if l.at < f.at => *l = f.clone(),
            Some(_) => {}
            None => latest.push(f.clone()),
        }
    }
    latest
}

fn set_next(conn: &mut DbConnection, id: i64, next: Option<NaiveDateTime>) -> Result<(), AppError> {
    diesel::update(tickets::table.find(id))
        .set(tickets::next_escalation_at.eq(next))
        .execute(conn)?;
    Ok(())
}

/// Record the step and queue its emails; returns the addresses that got one.
fn fire(
    conn: &mut DbConnection,
    desk: &Desk,
    ticket: &Ticket,
    step: &Step,
    key: &str,
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    let assignee = match ticket.assignee_id {
        Some(uid) => User::find(conn, uid)?,
        None => None,
    };
    let team = desk.model.team(&ticket.team);
    let recipients = step_recipients(
        desk,
        step,
        team,
        assignee.as_ref().map(|u| u.email.as_str()),
    );
    let addresses: Vec<String> = recipients.iter().map(|(a, _)| a.clone()).collect();
    TicketEscalation::insert(
        conn,
        &NewTicketEscalation {
            ticket_id: ticket.id,
            step: key,
            at: now,
            recipients: &addresses.join(", "),
        },
    )?;
    // A breach counts once, at its first step; repeats and later steps are not new breaches.
    if matches!(step.trigger, crate::domain::escalation::Trigger::Breach(_, after) if after.is_zero())
        && !key.contains('#')
        && ticket.drill == crate::domain::drill::LIVE
    {
        crate::telemetry::metrics::sla_breach(&ticket.team);
    }
    let firing = Fired { step, key, now };
    let zones = User::zones(conn, &addresses)?;
    for (address, why) in &recipients {
        let zone = zones
            .get(&address.trim().to_lowercase())
            .copied()
            .unwrap_or(desk.model.time_zone);
        let fields = escalation_email(
            desk,
            ticket,
            team,
            assignee.as_ref(),
            &firing,
            (address, why),
            zone,
        );
        let rendered = email::escalation(&fields)?;
        let message = Message {
            template: "escalation",
            recipient: address,
            rendered,
            first_in_thread: false,
            dedupe_key: Some(format!("{}:{key}", ticket.number())),
        };
        ticket_changes::queue_step_email(conn, &desk.mail, ticket, message, now)?;
    }
    record_escalated(conn, ticket, key, &addresses, now)?;
    Ok(addresses)
}

/// The ticket's timeline notes the step and whom it notified.
fn record_escalated(
    conn: &mut DbConnection,
    ticket: &Ticket,
    key: &str,
    recipients: &[String],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let detail = format!(
        "escalation step {key}: {}",
        if recipients.is_empty() {
            "nobody to notify".into()
        } else {
            recipients.join(", ")
        }
    );
    Event::insert_many(
        conn,
        &[NewEvent {
            ticket_id: ticket.id,
            kind: EventKind::Escalated,
            actor: "desk",
            detail: &detail,
            public: false,
            created_at: now,
            version: ticket.version,
        }],
    )?;
    Ok(())
}
