//! The escalation engine: fire each due step of a ticket's chain exactly once, queue its
//! emails in the same transaction, acknowledge.

use chrono::{NaiveDateTime, TimeDelta, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::models::escalation::{NewTicketEscalation, TicketEscalation};
use crate::db::models::event::{Event, NewEvent};
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::db::schema::tickets;
use crate::db::{DbConnection, write_transaction};
use crate::domain::escalation::{Clocks, Firing, Recipient, Step, standing, summary};
use crate::domain::event::EventKind;
use crate::domain::humanize::{self, Moment};
use crate::domain::secret;
use crate::domain::status::Status;
use crate::domain::support_model::Team;
use crate::domain::ticket_number::TicketNumber;
use crate::email;
use crate::error::AppError;
use crate::services::ticket_changes::{self, Assignee, Changes, Message, Tell, Who};
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
    for (address, why) in &recipients {
        let reader = User::find_by_email(conn, address)?;
        let zone = reader
            .as_ref()
            .and_then(|u| u.time_zone.as_deref())
            .and_then(|z| z.parse::<Tz>().ok())
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

/// The step that fired, which of its firings, and when.
struct Fired<'a> {
    step: &'a Step,
    key: &'a str,
    now: NaiveDateTime,
}

/// The addresses a step notifies on this ticket, each once with the first rule that named
/// it (the reason its email gives); a contact the team lacks is skipped.
fn step_recipients<'a>(
    desk: &Desk,
    step: &'a Step,
    team: Option<&Team>,
    assignee: Option<&str>,
) -> Vec<(String, &'a Recipient)> {
    let mut recipients: Vec<(String, &Recipient)> = Vec::new();
    for r in &step.notify {
        let address = match r {
            Recipient::AssigneeOrQueue => assignee
                .map(str::to_string)
                .or_else(|| team.map(|t| t.queue.clone())),
            Recipient::Queue => team.map(|t| t.queue.clone()),
            Recipient::Lead => team.map(|t| t.lead.clone()),
            Recipient::Manager => team.and_then(|t| t.manager.clone()),
            Recipient::OnCall => team.and_then(|t| t.oncall.clone()),
            Recipient::IncidentCommander => desk.model.incident_commander.clone(),
            Recipient::Address(a) => Some(a.clone()),
        };
        if let Some(address) = address
            && !recipients.iter().any(|(a, _)| *a == address)
        {
            recipients.push((address, r));
        }
    }
    recipients.sort_by(|a, b| a.0.cmp(&b.0));
    recipients
}

fn clocks_of(ticket: &Ticket) -> Clocks {
    Clocks {
        created_at: ticket.created_at,
        first_response_due: ticket.first_response_due,
        resolution_due: ticket.resolution_due,
        responded: ticket.first_responded_at.is_some(),
    }
}

/// What one recipient's escalation email says: why they get it (their part in the
/// chain), where the ticket stands as of sending, the rule behind the step, and the
/// acknowledge link, which names them so acknowledging can make them the owner.
fn escalation_email(
    desk: &Desk,
    ticket: &Ticket,
    team: Option<&Team>,
    assignee: Option<&User>,
    fired: &Fired<'_>,
    (address, recipient): (&str, &Recipient),
    zone: Tz,
) -> email::Escalation {
    let now = fired.now;
    let team_name = team.map_or_else(|| ticket.team.clone(), |t| t.name.clone());
    let headline = headline(fired.step, ticket, &team_name, now);
    let assigned = assignee.is_some_and(|u| u.email.eq_ignore_ascii_case(address));
    let (nth, total) = fired.step.firing_of(fired.key);
    let deadline = |at: NaiveDateTime| {
        let local = zone.from_utc_datetime(&at);
        format!(
            "{} {} · {}",
            Moment::new(at, zone, now).date,
            local.format("%Z"),
            humanize::due(at, now)
        )
    };
    email::Escalation {
        number: ticket.number().to_string(),
        summary: summary(&ticket.description),
        why: format!("{}; {headline}.", recipient.why(&team_name, assigned)),
        headline,
        step: if total > 1 {
            format!("{} ({nth} of {total})", fired.step.label())
        } else {
            fired.step.label()
        },
        rule: fired.step.rule(),
        severity: ticket.severity.label().to_string(),
        severity_meaning: ticket.severity.meaning().to_string(),
        category: ticket.category.label().to_string(),
        team: team_name,
        status: ticket.status.label().to_string(),
        assignee: assignee.map_or_else(
            || "nobody yet".to_string(),
            |u| u.name.clone().unwrap_or_else(|| u.email.clone()),
        ),
        first_response_due: match ticket.first_responded_at {
            Some(at) => format!("answered {}", Moment::new(at, zone, now).text()),
            None => deadline(ticket.first_response_due),
        },
        resolution_due: deadline(ticket.resolution_due),
        table: ticket
            .table_name
            .clone()
            .unwrap_or_else(|| "not given".into()),
        excerpt: email::short(&ticket.description, 300),
        ticket_url: format!("{}/tickets/{}", desk.mail.base_url, ticket.number()),
        runbook_url: format!(
            "{}{}",
            desk.mail.base_url,
            crate::runbooks::for_category(ticket.category)
        ),
        ack_url: format!(
            "{}/ack/{}",
            desk.mail.base_url,
            ack_token_for(
                &desk.signing_key,
                &AckClaim {
                    ticket_id: ticket.id,
                    step: fired.key.to_string(),
                    recipient: Some(address.to_string()),
                },
                now + ACK_LINK_LIFETIME
            )
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

/// What happened, as of `now`: "first response is overdue by 3 h 18 min" (words that
/// follow the clock at the moment of writing), or "new Sev 1 ticket for Profiler Core".
fn headline(step: &Step, ticket: &Ticket, team: &str, now: NaiveDateTime) -> String {
    standing(step.trigger, &clocks_of(ticket), now)
        .unwrap_or_else(|| format!("new {} ticket for {team}", ticket.severity.label()))
}

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
