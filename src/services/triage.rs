//! Agents' actions on a ticket. Every change checks the version the agent saw, so two
//! agents never silently overwrite each other, and leaves a timeline event.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::event::{Event, NewEvent};
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::db::schema::tickets;
use crate::db::{DbConnection, write_transaction};
use crate::domain::category::Category;
use crate::domain::role::Role;
use crate::domain::severity::Severity;
use crate::domain::status::{self, Status};
use crate::error::AppError;
use crate::services::notify::{self, Message};
use crate::state::Desk;

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
}

/// The ticket changed since the caller read it.
#[derive(Debug)]
pub struct Conflict {
    pub current: Ticket,
    pub missed: Vec<Event>,
}

/// Columns a change may set; `None` leaves a column alone.
#[derive(AsChangeset, Default)]
#[diesel(table_name = tickets)]
pub(crate) struct TicketChangeset {
    pub(crate) acknowledged_at: Option<Option<NaiveDateTime>>,
    pub(crate) paused_at: Option<Option<NaiveDateTime>>,
    pub(crate) next_escalation_at: Option<Option<NaiveDateTime>>,
    pub(crate) merged_into: Option<Option<i64>>,
    pub(crate) type_verdict: Option<Option<String>>,
    pub(crate) parent_id: Option<Option<i64>>,
    pub(crate) is_incident: Option<bool>,
    pub(crate) status: Option<String>,
    pub(crate) category: Option<String>,
    pub(crate) severity: Option<String>,
    pub(crate) team: Option<String>,
    pub(crate) routing_rule: Option<String>,
    pub(crate) routing_reason: Option<String>,
    pub(crate) assignee_id: Option<Option<i64>>,
    pub(crate) reclassified: Option<bool>,
    pub(crate) first_response_due: Option<NaiveDateTime>,
    pub(crate) resolution_due: Option<NaiveDateTime>,
    pub(crate) first_responded_at: Option<Option<NaiveDateTime>>,
    pub(crate) sla_due_at: Option<NaiveDateTime>,
    pub(crate) sla_warn_at: Option<NaiveDateTime>,
    pub(crate) updated_at: Option<NaiveDateTime>,
    pub(crate) version: Option<i32>,
}

/// A change to record on the timeline.
struct Note {
    kind: &'static str,
    detail: String,
    public: bool,
}

/// Apply `changes` if the ticket is still at `expected_version`. An incident that is
/// resolved (or closed) resolves its open reports with it (`incidents::resolve_reports`).
pub fn update(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    id: i64,
    expected_version: i32,
    changes: &Changes,
) -> Result<Result<Ticket, Conflict>, AppError> {
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let ticket = Ticket::find(conn, id)?;
        if ticket.version != expected_version {
            let missed = Event::since_version(conn, id, expected_version)?;
            return Ok(Err(Conflict {
                current: ticket,
                missed,
            }));
        }
        // Resolved, or closed straight away: an end either way.
        let ended =
            |status: &str| status == Status::Resolved.as_str() || status == Status::Closed.as_str();
        let resolves_incident = ticket.is_incident
            && changes.status.is_some_and(|s| ended(s.as_str()))
            && !ended(&ticket.status);
        // An incident's reporter hears with its reports' reporters, in its update.
        let tell = if resolves_incident {
            Tell::NotReporter
        } else {
            Tell::Reporter
        };
        let Some(saved) = apply(conn, desk, who, &ticket, changes, tell, now)? else {
            let missed = Event::since_version(conn, id, expected_version)?;
            return Ok(Err(Conflict {
                current: Ticket::find(conn, id)?,
                missed,
            }));
        };
        if resolves_incident && ended(&saved.status) {
            let reason = changes.reason.as_deref().map(str::trim);
            let reports =
                crate::services::incidents::resolve_reports(conn, desk, who, &saved, reason, now)?;
            tracing::info!(
                incident = %saved.number(),
                reports,
                "incident ended; its open reports resolved with it"
            );
            // The update on its timeline moved the incident on a version.
            return Ok(Ok(Ticket::find(conn, id)?));
        }
        Ok(Ok(saved))
    })
}

/// Whether a change's reporter hears of it by email (`notify_changes`); an agent it
/// assigns always does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tell {
    Reporter,
    /// Someone else tells them: an incident's update reaches each reporter once.
    NotReporter,
}

/// Plan and save `changes` on `ticket` as read inside the caller's transaction; `None`
/// when it changed since (its version moved). Nothing to change returns it as it is.
pub(crate) fn apply(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    ticket: &Ticket,
    changes: &Changes,
    tell: Tell,
    now: NaiveDateTime,
) -> Result<Option<Ticket>, AppError> {
    let (set, notes) = plan(conn, desk, who, ticket, changes, now)?;
    if notes.is_empty() {
        return Ok(Some(ticket.clone()));
    }
    let Some(saved) = save(conn, ticket, set, &notes, who, now)? else {
        return Ok(None);
    };
    notify_changes(conn, desk, ticket, &saved, tell, now)?;
    Ok(Some(saved))
}

/// Email what a change means to the people it concerns: the reporter hears of progress,
/// an agent of an assignment.
fn notify_changes(
    conn: &mut DbConnection,
    desk: &Desk,
    before: &Ticket,
    after: &Ticket,
    tell: Tell,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if before.status != after.status && tell == Tell::Reporter {
        let news = match Status::parse(&after.status) {
            Ok(Status::InProgress) => Some((
                "Someone is working on your report",
                "A member of the team is working on your report now.",
            )),
            Ok(Status::WaitingOnReporter) => Some((
                "The team needs more information",
                "The team needs more information from you to go on. Please reply on the tracking page; the ticket waits for you meanwhile.",
            )),
            Ok(Status::Resolved) => Some((
                "Your report is resolved",
                "The team has marked your report resolved. If the problem is still there, reply on the tracking page and the ticket reopens.",
            )),
            _ => None,
        };
        if let Some((headline, body)) = news {
            let rendered = crate::email::ticket_message(&desk.mail, after, headline, body)?;
            let template = if after.status == Status::Resolved.as_str() {
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
                dedupe_key,
            };
            notify::queue(conn, &desk.mail, after, message, now)?;
        }
    }
    if let Some(assignee) = after
        .assignee_id
        .filter(|id| Some(*id) != before.assignee_id)
        && let Some(user) = User::find(conn, assignee)?
    {
        let rendered = crate::email::agent_notice(
            &desk.mail,
            after,
            &format!("{} is assigned to you", after.number()),
        )?;
        let message = Message {
            template: "assignment",
            recipient: &user.email,
            rendered,
            first_in_thread: false,
            dedupe_key: None,
        };
        notify::queue(conn, &desk.mail, after, message, now)?;
    }
    Ok(())
}

/// Work out the new field values and the timeline notes, refusing what is not allowed.
fn plan(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    ticket: &Ticket,
    changes: &Changes,
    now: NaiveDateTime,
) -> Result<(TicketChangeset, Vec<Note>), AppError> {
    let mut set = TicketChangeset::default();
    let mut notes = Vec::new();
    let reason = changes
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let current_status = Status::parse(&ticket.status).map_err(AppError::internal_msg)?;
    let severity = Severity::parse(&ticket.severity).map_err(AppError::internal_msg)?;
    let mut responded = ticket.first_responded_at.is_some();
    if let Some(to) = changes.status.filter(|s| *s != current_status) {
        current_status
            .can_move_to(to)
            .map_err(|e| AppError::invalid("status", e))?;
        set.status = Some(to.as_str().into());
        if !responded && !matches!(to, Status::New | Status::Triaged) {
            set.first_responded_at = Some(Some(now));
            responded = true;
        }
        let detail = match (current_status, to) {
            (Status::Resolved | Status::Closed, Status::Triaged) => {
                format!("reopened by {}", who.name)
            }
            _ => format!("status {current_status} → {to} by {}", who.name),
        };
        // A reason given with a plain status change (no reclassification or severity
        // change to carry it) says why on the timeline.
        let detail = match reason {
            Some(r) if changes.category.is_none() && changes.severity.is_none() => {
                format!("{detail}: {r}")
            }
            _ => detail,
        };
        notes.push(Note {
            kind: "status_changed",
            detail,
            public: true,
        });
        pause_or_resume(desk, ticket, to, now, &mut set);
    }
    if let Some(category) = changes.category.filter(|c| c.as_str() != ticket.category) {
        let reason = reason.ok_or_else(|| {
            AppError::invalid("reason", "Say why the category is wrong; it is logged.")
        })?;
        set.category = Some(category.as_str().into());
        set.reclassified = Some(true);
        let detail = format!(
            "reclassified {} → {category} by {}: {reason} (a classifier miss)",
            ticket.category, who.name
        );
        notes.push(Note {
            kind: "reclassified",
            detail,
            public: true,
        });
    }
    let mut deadlines_changed = set.first_responded_at.is_some() || set.resolution_due.is_some();
    if let Some(new) = changes.severity.filter(|s| *s != severity) {
        let reason = reason.ok_or_else(|| {
            AppError::invalid("reason", "Say why the severity changes; it is logged.")
        })?;
        // A severity change recomputes both due times from when the ticket was filed.
        let team = set.team.as_deref().unwrap_or(&ticket.team);
        let calendar = desk.model.calendar_for(team, new);
        let targets =
            crate::domain::sla::targets(ticket.created_at, &desk.model.sla_policy(new), calendar);
        set.first_response_due = Some(targets.first_response_due);
        set.resolution_due = Some(targets.resolution_due);
        set.severity = Some(new.as_str().into());
        notes.push(Note {
            kind: "severity_changed",
            detail: format!("severity {severity} → {new} by {}: {reason}", who.name),
            public: true,
        });
        deadlines_changed = true;
    }
    if deadlines_changed {
        let first = set.first_response_due.unwrap_or(ticket.first_response_due);
        let resolution = set.resolution_due.unwrap_or(ticket.resolution_due);
        let (due, warn) = status::next_deadline(ticket.created_at, first, resolution, responded);
        set.sla_due_at = Some(due);
        set.sla_warn_at = Some(warn);
    }
    if let Some(team) = changes.team.as_deref().filter(|t| *t != ticket.team) {
        let known = desk.model.team(team).ok_or_else(|| {
            AppError::invalid("team", format!("no team '{team}' in the support model"))
        })?;
        // Rerouting keeps the clocks: the reporter has been waiting all along.
        set.team = Some(team.into());
        set.routing_rule = Some("manual".into());
        let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
        set.routing_reason = Some(format!("rerouted by {}{why}", who.name));
        notes.push(Note {
            kind: "rerouted",
            detail: format!(
                "rerouted {} → {} by {}{why}",
                ticket.team, known.name, who.name
            ),
            public: true,
        });
    }
    if let Some(assignee) = &changes.assignee {
        let team = set.team.as_deref().unwrap_or(&ticket.team);
        let target = resolve_assignee(conn, desk, who, team, assignee)?;
        if target.as_ref().map(|u| u.id) != ticket.assignee_id {
            set.assignee_id = Some(target.as_ref().map(|u| u.id));
            let detail = match &target {
                Some(user) => format!("assigned to {} by {}", user.email, who.name),
                None => format!("unassigned by {}", who.name),
            };
            notes.push(Note {
                kind: "assigned",
                detail,
                public: false,
            });
        }
    }
    Ok((set, notes))
}

/// Waiting on the reporter stops the clocks; leaving it adds the paused business time to
/// the due times, so the team is not charged for the reporter's silence.
pub(crate) fn pause_or_resume(
    desk: &Desk,
    ticket: &Ticket,
    to: Status,
    now: NaiveDateTime,
    set: &mut TicketChangeset,
) {
    if to == Status::WaitingOnReporter {
        set.paused_at = Some(Some(now));
        return;
    }
    let Some(paused_at) = ticket.paused_at else {
        return;
    };
    let severity = Severity::parse(&ticket.severity).unwrap_or(Severity::Sev3);
    let calendar = desk.model.calendar_for(&ticket.team, severity);
    let paused = calendar.between(paused_at, now);
    set.paused_at = Some(None);
    let first = if ticket.first_responded_at.is_none() {
        calendar.add(ticket.first_response_due, paused)
    } else {
        ticket.first_response_due
    };
    let resolution = calendar.add(ticket.resolution_due, paused);
    set.first_response_due = Some(first);
    set.resolution_due = Some(resolution);
    let responded = ticket.first_responded_at.is_some() || set.first_responded_at.is_some();
    let (due, warn) = status::next_deadline(ticket.created_at, first, resolution, responded);
    set.sla_due_at = Some(due);
    set.sla_warn_at = Some(warn);
}

fn resolve_assignee(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    team: &str,
    assignee: &Assignee,
) -> Result<Option<User>, AppError> {
    let must_be_agent = |user: User| -> Result<Option<User>, AppError> {
        match Role::parse(&user.role) {
            Ok(role) if role.includes(Role::Agent) => Ok(Some(user)),
            _ => Err(AppError::invalid(
                "assignee",
                format!("{} is not an agent", user.email),
            )),
        }
    };
    match assignee {
        Assignee::Nobody => Ok(None),
        Assignee::Me => {
            let id = who.user_id.ok_or_else(|| {
                AppError::invalid("assignee", "only a signed-in agent can take a ticket")
            })?;
            must_be_agent(User::find(conn, id)?.ok_or(AppError::NotFound)?)
        }
        Assignee::User(id) => must_be_agent(
            User::find(conn, *id)?.ok_or_else(|| AppError::invalid("assignee", "no such user"))?,
        ),
        Assignee::Auto => {
            let members = desk
                .model
                .team(team)
                .map(|t| t.members.clone())
                .unwrap_or_default();
            let mut best: Option<(i64, User)> = None;
            for email in members {
                let Some(user) = User::find_by_email(conn, &email)? else {
                    continue;
                };
                if !Role::parse(&user.role).is_ok_and(|r| r.includes(Role::Agent)) {
                    continue;
                }
                let open = Ticket::open_assigned_count(conn, user.id)?;
                if best
                    .as_ref()
                    .is_none_or(|(n, b)| open < *n || (open == *n && user.id < b.id))
                {
                    best = Some((open, user));
                }
            }
            best.map(|(_, user)| Some(user)).ok_or_else(|| {
                AppError::invalid(
                    "assignee",
                    format!("team '{team}' has no members with agent accounts"),
                )
            })
        }
    }
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
pub(crate) fn touch(
    conn: &mut DbConnection,
    ticket: &Ticket,
    who: &Who,
    notes: &[(&'static str, String, bool)],
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
            kind,
            detail: detail.clone(),
            public: *public,
        })
        .collect();
    record(conn, ticket.id, version, who, &notes, now)?;
    Ok(Ticket::find(conn, ticket.id)?)
}
