//! Planning a change: the new field values and the timeline notes, with the rules that
//! refuse what is not allowed (status moves, reasons for reclassification and severity,
//! known teams, agents as assignees) and the SLA arithmetic a change implies.

use chrono::NaiveDateTime;

use super::{Assignee, Changes, Note, TicketChangeset, Who};
use crate::db::DbConnection;
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::domain::role::Role;
use crate::domain::status::{self, Status};
use crate::error::AppError;
use crate::state::Desk;

/// Work out the new field values and the timeline notes, refusing what is not allowed.
pub(super) fn plan(
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
    let current_status = ticket.status;
    let severity = ticket.severity;
    let mut responded = ticket.first_responded_at.is_some();
    if let Some(to) = changes.status.filter(|s| *s != current_status) {
        current_status
            .can_move_to(to)
            .map_err(|e| AppError::invalid("status", e))?;
        set.status = Some(to);
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
    if let Some(category) = changes.category.filter(|c| *c != ticket.category) {
        let reason = reason.ok_or_else(|| {
            AppError::invalid("reason", "Say why the category is wrong; it is logged.")
        })?;
        set.category = Some(category);
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
        set.severity = Some(new);
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
pub fn pause_or_resume(
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
    let severity = ticket.severity;
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
        if user.role.includes(Role::Agent) {
            Ok(Some(user))
        } else {
            Err(AppError::invalid(
                "assignee",
                format!("{} is not an agent", user.email),
            ))
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
                if !user.role.includes(Role::Agent) {
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
