//! The shared ticket writes every use-case builds on: apply a change to a ticket (checked
//! against the version it was read at), record its timeline events, and queue the emails
//! it means for the people concerned. This is the bottom service: it imports no other
//! service, and the use-cases (`triage`, `ticket_actions`, `incidents`, `intake`,
//! `escalation`, the monitor and freshness) import it.

mod audience;
mod mail;
mod plan;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::models::classifier::Correction;
use crate::db::models::event::{Event, NewEvent};
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::db::schema::tickets;
use crate::domain::category::{Category, TypeVerdict};
use crate::domain::event::EventKind;
use crate::domain::severity::Severity;
use crate::domain::status::Status;
use crate::error::AppError;
use crate::state::Desk;

pub use audience::reporters;
pub use mail::{Change, DEDUPE_WINDOW, Message, queue, queue_all, queue_changes, queue_step_email};
pub use plan::pause_or_resume;

/// Who acts: a desk account or a program with a token.
#[derive(Debug, Clone)]
pub struct Who {
    pub name: String,
    pub user_id: Option<i64>,
}

/// Whom to assign.
#[derive(Debug, Clone, PartialEq)]
pub enum Assignee {
    Me,
    User(i64),
    /// The team member with the fewest open tickets.
    Auto,
    Nobody,
}

/// The fields an agent may change in one go; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub status: Option<Status>,
    pub category: Option<Category>,
    pub severity: Option<Severity>,
    pub team: Option<String>,
    pub assignee: Option<Assignee>,
    /// Why: required for reclassification and severity changes.
    pub reason: Option<String>,
    /// A reclassification that names no other team sends the ticket where the routing
    /// rules send its new category.
    pub reroute: bool,
}

/// Columns a change may set; `None` leaves a column alone.
#[derive(AsChangeset, Default)]
#[diesel(table_name = tickets)]
pub struct TicketChangeset {
    pub acknowledged_at: Option<Option<NaiveDateTime>>,
    pub paused_at: Option<Option<NaiveDateTime>>,
    pub next_escalation_at: Option<Option<NaiveDateTime>>,
    pub merged_into: Option<Option<i64>>,
    pub type_verdict: Option<Option<TypeVerdict>>,
    pub parent_id: Option<Option<i64>>,
    pub is_incident: Option<bool>,
    pub status: Option<Status>,
    pub category: Option<Category>,
    pub severity: Option<Severity>,
    pub team: Option<String>,
    pub routing_rule: Option<String>,
    pub routing_reason: Option<String>,
    pub assignee_id: Option<Option<i64>>,
    pub reclassified: Option<bool>,
    pub first_response_due: Option<NaiveDateTime>,
    pub resolution_due: Option<NaiveDateTime>,
    pub first_responded_at: Option<Option<NaiveDateTime>>,
    pub sla_due_at: Option<NaiveDateTime>,
    pub sla_warn_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
    pub version: Option<i32>,
}

/// A change to record on the timeline.
pub(crate) struct Note {
    pub(crate) kind: EventKind,
    pub(crate) detail: String,
    pub(crate) public: bool,
}

/// Whether a change's reporter hears of it by email (`notify_changes`); an agent it
/// assigns always does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tell {
    Reporter,
    /// Someone else tells them: an incident's update reaches each reporter once.
    NotReporter,
}

/// Plan and save `changes` on `ticket` as read inside the caller's transaction; `None`
/// when it changed since (its version moved). Nothing to change returns it as it is.
pub fn apply(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    ticket: &Ticket,
    changes: &Changes,
    tell: Tell,
    now: NaiveDateTime,
) -> Result<Option<Ticket>, AppError> {
    let (set, notes) = plan::plan(conn, desk, who, ticket, changes, now)?;
    if notes.is_empty() {
        return Ok(Some(ticket.clone()));
    }
    let Some(saved) = save(conn, ticket, set, &notes, who, now)? else {
        return Ok(None);
    };
    learn_from(conn, ticket, &saved, changes, who, now)?;
    notify_changes(conn, desk, who, ticket, &saved, tell, now)?;
    Ok(Some(saved))
}

/// An agent's reclassification (it always has a reason) is kept as a labelled example the
/// classifier learns from. A drill's tickets teach nothing.
fn learn_from(
    conn: &mut DbConnection,
    before: &Ticket,
    after: &Ticket,
    changes: &Changes,
    who: &Who,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let reason = changes.reason.as_deref().map(str::trim).unwrap_or_default();
    if before.category == after.category || after.drill != crate::domain::drill::LIVE {
        return Ok(());
    }
    Correction::record(conn, after, before.category, reason, &who.name, now)?;
    Ok(())
}

/// Email what a change means to the people it concerns: the reporter hears of progress,
/// an agent of an assignment someone else made (taking a ticket yourself needs no notice).
fn notify_changes(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    before: &Ticket,
    after: &Ticket,
    tell: Tell,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if before.status != after.status && tell == Tell::Reporter {
        let news = match after.status {
            Status::InProgress => Some((
                "Someone is working on your report",
                "A member of the team is working on your report now.",
            )),
            Status::WaitingOnReporter => Some((
                "The team needs more information",
                "The team needs more information from you to go on. Please reply on the tracking page; the ticket waits for you meanwhile.",
            )),
            Status::Resolved => Some((
                "Your report is resolved",
                "The team has marked your report resolved. If the problem is still there, reply on the tracking page and the ticket reopens.",
            )),
            _ => None,
        };
        if let Some((headline, body)) = news {
            let rendered = crate::email::ticket_message(&desk.mail, after, headline, body)?;
            let template = if after.status == Status::Resolved {
                "resolved"
            } else {
                "status_change"
            };
            let dedupe_key = Some(format!("{}:status:{}", after.number(), after.status));
            let message = Message {
                template,
                recipient: &after.reporter_email,
                rendered,
                first_in_thread: false,
                dedupe_key: dedupe_key.clone(),
            };
            queue(conn, &desk.mail, after, message, now)?;
            if after.status == Status::Resolved {
                tell_merged_reporters_resolved(conn, desk, after, dedupe_key, now)?;
            }
        }
    }
    if let Some(assignee) = after
        .assignee_id
        .filter(|id| Some(*id) != before.assignee_id && Some(*id) != who.user_id)
        && let Some(user) = User::find(conn, assignee)?
    {
        let team = desk.model.team_name(&after.team);
        // The assignee reads the deadline in their own zone when they chose one.
        let zone = user.zone().unwrap_or(desk.model.time_zone);
        let rendered = crate::email::agent_notice(
            &desk.mail,
            after,
            team,
            zone,
            now,
            &format!("{} is assigned to you", after.number()),
        )?;
        let message = Message {
            template: "assignment",
            recipient: &user.email,
            rendered,
            first_in_thread: false,
            dedupe_key: None,
        };
        queue(conn, &desk.mail, after, message, now)?;
    }
    Ok(())
}

/// The reporters of tickets merged into `resolved` hear that the problem they reported is
/// resolved, each address once (its own reporter heard already).
fn tell_merged_reporters_resolved(
    conn: &mut DbConnection,
    desk: &Desk,
    resolved: &Ticket,
    dedupe_key: Option<String>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let audience = reporters(conn, vec![resolved.clone()])?;
    for duplicate in audience.iter().filter(|t| t.id != resolved.id) {
        let body = format!(
            "The team has resolved {}, the problem your report {} was merged into. If you \
             still see the problem, send a new report.",
            resolved.number(),
            duplicate.number()
        );
        let rendered = crate::email::ticket_message(
            &desk.mail,
            duplicate,
            "The problem you reported is resolved",
            &body,
        )?;
        let message = Message {
            template: "resolved",
            recipient: &duplicate.reporter_email,
            rendered,
            first_in_thread: false,
            dedupe_key: dedupe_key.clone(),
        };
        queue(conn, &desk.mail, duplicate, message, now)?;
    }
    Ok(())
}

/// Write the changeset if nobody else did first; returns the saved ticket.
fn save(
    conn: &mut DbConnection,
    ticket: &Ticket,
    mut set: TicketChangeset,
    notes: &[Note],
    who: &Who,
    now: NaiveDateTime,
) -> Result<Option<Ticket>, AppError> {
    let version = ticket.version + 1;
    set.updated_at = Some(now);
    set.version = Some(version);
    // Any change re-arms escalation: an acknowledgement holds until the ticket changes,
    // and the next sweep works out the new next step.
    set.acknowledged_at = Some(None);
    set.next_escalation_at = Some(Some(now));
    let changed = diesel::update(
        tickets::table
            .find(ticket.id)
            .filter(tickets::version.eq(ticket.version)),
    )
    .set(&set)
    .execute(conn)?;
    if changed == 0 {
        return Ok(None);
    }
    record(conn, ticket.id, version, who, notes, now)?;
    Ok(Some(Ticket::find(conn, ticket.id)?))
}

fn record(
    conn: &mut DbConnection,
    ticket_id: i64,
    version: i32,
    who: &Who,
    notes: &[Note],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let events: Vec<NewEvent<'_>> = notes
        .iter()
        .map(|n| NewEvent {
            ticket_id,
            kind: n.kind,
            actor: &who.name,
            detail: &n.detail,
            public: n.public,
            created_at: now,
            version,
        })
        .collect();
    Event::insert_many(conn, &events)?;
    Ok(())
}

/// Apply a change made outside `update` (comments, merges, incidents, verdicts): one
/// UPDATE that also bumps the version, plus its timeline notes.
pub fn touch(
    conn: &mut DbConnection,
    ticket: &Ticket,
    who: &Who,
    notes: &[(EventKind, String, bool)],
    mut set: TicketChangeset,
    now: NaiveDateTime,
) -> Result<Ticket, AppError> {
    let version = ticket.version + 1;
    set.updated_at = Some(now);
    set.version = Some(version);
    // Any change re-arms escalation: an acknowledgement holds until the ticket changes,
    // and the next sweep works out the new next step.
    set.acknowledged_at = Some(None);
    set.next_escalation_at = Some(Some(now));
    diesel::update(tickets::table.find(ticket.id))
        .set(&set)
        .execute(conn)?;
    let notes: Vec<Note> = notes
        .iter()
        .map(|(kind, detail, public)| Note {
            kind: *kind,
            detail: detail.clone(),
            public: *public,
        })
        .collect();
    record(conn, ticket.id, version, who, &notes, now)?;
    Ok(Ticket::find(conn, ticket.id)?)
}
