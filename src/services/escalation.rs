//! The escalation engine: fire each due step of a ticket's chain exactly once, queue its
//! emails in the same transaction, acknowledge.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::clock::rfc3339;
use crate::db::models::escalation::{NewTicketEscalation, TicketEscalation};
use crate::db::models::event::{Event, NewEvent};
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::db::schema::tickets;
use crate::db::{DbConnection, write_transaction};
use crate::domain::escalation::{Clocks, Firing, Recipient, Step};
use crate::domain::event::EventKind;
use crate::domain::secret;
use crate::domain::status::Status;
use crate::domain::support_model::Team;
use crate::domain::ticket_number::TicketNumber;
use crate::email;
use crate::error::AppError;
use crate::services::ticket_changes::{self, Message};
use crate::state::Desk;

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
            let mut tickets: std::collections::HashMap<i64, Ticket> = tickets::table
                .filter(tickets::id.eq_any(batch))
                .select(Ticket::as_select())
                .load::<Ticket>(conn)?
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
        let ticket = Ticket::find(conn, id)?;
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
        let clocks = Clocks {
            created_at: ticket.created_at,
            first_response_due: ticket.first_response_due,
            resolution_due: ticket.resolution_due,
            responded: ticket.first_responded_at.is_some(),
        };
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
        Some(uid) => User::find(conn, uid)?.map(|u| u.email),
        None => None,
    };
    let team = desk.model.team(&ticket.team);
    let recipients = step_recipients(desk, step, team, assignee.as_deref());
    TicketEscalation::insert(
        conn,
        &NewTicketEscalation {
            ticket_id: ticket.id,
            step: key,
            at: now,
            recipients: &recipients.join(", "),
        },
    )?;
    // A breach counts once, at its first step; repeats and later steps are not new breaches.
    if matches!(step.trigger, crate::domain::escalation::Trigger::Breach(_, after) if after.is_zero())
        && !key.contains('#')
        && ticket.drill == crate::domain::drill::LIVE
    {
        crate::telemetry::metrics::sla_breach(&ticket.team);
    }
    let headline = headline(step, ticket, now);
    let mut sent = Vec::new();
    for recipient in &recipients {
        let fields = escalation_email(desk, ticket, team, assignee.as_deref(), &headline, key, now);
        let rendered = email::escalation(&fields)?;
        let message = Message {
            template: "escalation",
            recipient,
            rendered,
            first_in_thread: false,
            dedupe_key: Some(format!("{}:{key}", ticket.number())),
        };
        ticket_changes::queue_step_email(conn, &desk.mail, ticket, message, now)?;
        sent.push(recipient.clone());
    }
    record_escalated(conn, ticket, key, &recipients, now)?;
    Ok(sent)
}

/// The addresses a step notifies on this ticket, each once; a contact the team lacks is
/// skipped.
fn step_recipients(
    desk: &Desk,
    step: &Step,
    team: Option<&Team>,
    assignee: Option<&str>,
) -> Vec<String> {
    let mut recipients: Vec<String> = step
        .notify
        .iter()
        .filter_map(|r| match r {
            Recipient::AssigneeOrQueue => assignee
                .map(str::to_string)
                .or_else(|| team.map(|t| t.queue.clone())),
            Recipient::Queue => team.map(|t| t.queue.clone()),
            Recipient::Lead => team.map(|t| t.lead.clone()),
            Recipient::Manager => team.and_then(|t| t.manager.clone()),
            Recipient::OnCall => team.and_then(|t| t.oncall.clone()),
            Recipient::IncidentCommander => desk.model.incident_commander.clone(),
            Recipient::Address(a) => Some(a.clone()),
        })
        .collect();
    recipients.sort();
    recipients.dedup();
    recipients
}

/// What one escalation email says; the same for every recipient but its acknowledge link
/// is the step's.
fn escalation_email(
    desk: &Desk,
    ticket: &Ticket,
    team: Option<&Team>,
    assignee: Option<&str>,
    headline: &str,
    key: &str,
    now: NaiveDateTime,
) -> email::Escalation {
    email::Escalation {
        number: ticket.number().to_string(),
        headline: headline.to_string(),
        step: key.to_string(),
        severity: ticket.severity.to_string(),
        category: ticket.category.to_string(),
        team: team.map_or_else(|| ticket.team.clone(), |t| t.name.clone()),
        status: ticket.status.to_string(),
        assignee: assignee.unwrap_or("nobody").to_string(),
        first_response_due: rfc3339(ticket.first_response_due),
        resolution_due: rfc3339(ticket.resolution_due),
        table: ticket.table_name.clone().unwrap_or_else(|| "-".into()),
        excerpt: email::short(&ticket.description, 300),
        ticket_url: format!("{}/tickets/{}", desk.mail.base_url, ticket.number()),
        ack_url: format!(
            "{}/ack/{}",
            desk.mail.base_url,
            ack_token(&desk.signing_key, ticket.id, key, now + ACK_LINK_LIFETIME)
        ),
    }
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

fn headline(step: &Step, ticket: &Ticket, now: NaiveDateTime) -> String {
    use crate::domain::escalation::{Clock, Trigger};
    let minutes = |d: TimeDelta| d.num_minutes().abs();
    match step.trigger {
        Trigger::Created => format!("new {} ticket for {}", ticket.severity, ticket.team),
        Trigger::Percent(_, Clock::FirstResponse) => format!(
            "first response due in {} min",
            minutes(ticket.first_response_due - now)
        ),
        Trigger::Percent(_, Clock::Resolution) => format!(
            "resolution due in {} min",
            minutes(ticket.resolution_due - now)
        ),
        Trigger::Breach(Clock::FirstResponse, _) => format!(
            "first response overdue by {} min",
            minutes(now - ticket.first_response_due)
        ),
        Trigger::Breach(Clock::Resolution, _) => format!(
            "resolution overdue by {} min",
            minutes(now - ticket.resolution_due)
        ),
    }
}

/// `<hex(ticket:step:expiry)>.<signature>`: opaque, unforgeable, expiring.
pub fn ack_token(key: &[u8], ticket_id: i64, step: &str, expires: NaiveDateTime) -> String {
    let payload = format!("{ticket_id}:{step}:{}", expires.and_utc().timestamp());
    let hex: String = payload.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.{}", secret::sign(key, &payload))
}

/// The ticket and step an acknowledge token names, if it is genuine and unexpired.
pub fn verify_ack_token(
    key: &[u8],
    token: &str,
    now: NaiveDateTime,
) -> Result<(i64, String), String> {
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
    let mut parts = payload.splitn(3, ':');
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
    Ok((
        id.parse()
            .map_err(|_| "this acknowledge link is malformed")?,
        step.to_string(),
    ))
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
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let ticket = Ticket::find(conn, ticket_id)?;
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
        if let Some(step) = step {
            let row = TicketEscalation::find(conn, ticket_id, step)?.ok_or(AppError::NotFound)?;
            if row.acknowledged_at.is_some() {
                return Ok(false);
            }
        } else if ticket.acknowledged_at.is_some() {
            return Ok(false);
        }
        TicketEscalation::acknowledge_all(conn, ticket_id, by, now)?;
        diesel::update(tickets::table.find(ticket_id))
            .set((
                tickets::acknowledged_at.eq(Some(now)),
                tickets::next_escalation_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        let detail =
            format!("escalation acknowledged by {by}; further steps wait until the ticket changes");
        Event::insert_many(
            conn,
            &[NewEvent {
                ticket_id,
                kind: EventKind::Acknowledged,
                actor: by,
                detail: &detail,
                public: false,
                created_at: now,
                version: ticket.version,
            }],
        )?;
        Ok(true)
    })
}
