//! Planning a change: the new field values and the timeline notes, with the rules that
//! refuse what is not allowed (status moves, reasons for reclassification and severity,
//! known teams, agents as assignees) and the SLA arithmetic a change implies.

use chrono::NaiveDateTime;

use super::{Assignee, Changes, Note, TicketChangeset, Who};
use crate::db::DbConnection;
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::domain::event::EventKind;
use crate::domain::role::Role;
use crate::domain::routing::RouteQuery;
use crate::domain::status::{self, Status};
use crate::domain::text::{self, Lines};
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
    let mut plan = Plan {
        desk,
        who,
        ticket,
        changes,
        now,
        reason: changes
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty()),
        responded: ticket.first_responded_at.is_some(),
        set: TicketChangeset::default(),
        notes: Vec::new(),
    };
    // Before anything is written: a reason is free text by the desk's rules.
    if let Some(reason) = plan.reason {
        text::check_characters(reason, Lines::Many).map_err(|e| AppError::invalid("reason", e))?;
    }
    plan.status()?;
    plan.category()?;
    let mut deadlines_changed =
        plan.set.first_responded_at.is_some() || plan.set.resolution_due.is_some();
    deadlines_changed |= plan.severity()?;
    if deadlines_changed {
        plan.next_deadline();
    }
    plan.team()?;
    plan.assignee(conn)?;
    Ok((plan.set, plan.notes))
}

/// A change being planned: what it asks, and what it sets and notes so far.
struct Plan<'a> {
    desk: &'a Desk,
    who: &'a Who,
    ticket: &'a Ticket,
    changes: &'a Changes,
    now: NaiveDateTime,
    /// Why, trimmed; `None` when blank.
    reason: Option<&'a str>,
    /// Whether the first response is (or becomes) given.
    responded: bool,
    set: TicketChangeset,
    notes: Vec<Note>,
}

impl Plan<'_> {
    fn note(&mut self, kind: EventKind, detail: String, public: bool) {
        self.notes.push(Note {
            kind,
            detail,
            public,
        });
    }

    /// A status move the status rules allow; leaving `new` or `triaged` is the first
    /// response; waiting on the reporter pauses the clocks and leaving it resumes them.
    fn status(&mut self) -> Result<(), AppError> {
        let (ticket, who) = (self.ticket, self.who);
        let current = ticket.status;
        let Some(to) = self.changes.status.filter(|s| *s != current) else {
            return Ok(());
        };
        current
            .can_move_to(to)
            .map_err(|e| AppError::invalid("status", e))?;
        self.set.status = Some(to);
        if !self.responded && !matches!(to, Status::New | Status::Triaged) {
            self.set.first_responded_at = Some(Some(self.now));
            self.responded = true;
        }
        let detail = match (current, to) {
            (Status::Resolved | Status::Closed, Status::Triaged) => {
                format!("reopened by {}", who.name)
            }
            _ => format!("status {current} → {to} by {}", who.name),
        };
        // A reason given with a plain status change (no reclassification or severity
        // change to carry it) says why on the timeline.
        let detail = match self.reason {
            Some(r) if self.changes.category.is_none() && self.changes.severity.is_none() => {
                format!("{detail}: {r}")
            }
            _ => detail,
        };
        self.note(EventKind::StatusChanged, detail, true);
        pause_or_resume(self.desk, ticket, to, self.now, &mut self.set);
        Ok(())
    }

    /// A reclassification, with the reason it needs.
    fn category(&mut self) -> Result<(), AppError> {
        let ticket = self.ticket;
        let Some(category) = self.changes.category.filter(|c| *c != ticket.category) else {
            return Ok(());
        };
        let reason = self.reason.ok_or_else(|| {
            AppError::invalid("reason", "Say why the category is wrong; it is logged.")
        })?;
        self.set.category = Some(category);
        self.set.reclassified = Some(true);
        let detail = format!(
            "reclassified {} → {category} by {}: {reason} (a classifier miss)",
            ticket.category, self.who.name
        );
        self.note(EventKind::Reclassified, detail, true);
        Ok(())
    }

    /// A severity change, with the reason it needs: both due times are recomputed from
    /// when the ticket was filed. Whether it changed the deadlines.
    fn severity(&mut self) -> Result<bool, AppError> {
        let ticket = self.ticket;
        let Some(new) = self.changes.severity.filter(|s| *s != ticket.severity) else {
            return Ok(false);
        };
        let reason = self.reason.ok_or_else(|| {
            AppError::invalid("reason", "Say why the severity changes; it is logged.")
        })?;
        let model = &self.desk.model;
        let team = self.set.team.as_deref().unwrap_or(&ticket.team);
        let calendar = model.calendar_for(team, new);
        let targets =
            crate::domain::sla::targets(ticket.created_at, &model.sla_policy(new), calendar);
        self.set.first_response_due = Some(targets.first_response_due);
        self.set.resolution_due = Some(targets.resolution_due);
        self.set.severity = Some(new);
        let detail = format!(
            "severity {} → {new} by {}: {reason}",
            ticket.severity, self.who.name
        );
        self.note(EventKind::SeverityChanged, detail, true);
        Ok(true)
    }

    /// The next deadline the queue sorts on, after the due times or the first response
    /// changed.
    fn next_deadline(&mut self) {
        let ticket = self.ticket;
        let first = self
            .set
            .first_response_due
            .unwrap_or(ticket.first_response_due);
        let resolution = self.set.resolution_due.unwrap_or(ticket.resolution_due);
        let (due, warn) =
            status::next_deadline(ticket.created_at, first, resolution, self.responded);
        self.set.sla_due_at = Some(due);
        self.set.sla_warn_at = Some(warn);
    }

    /// A reroute to a team of the support model. It keeps the clocks: the reporter has
    /// been waiting all along.
    fn team(&mut self) -> Result<(), AppError> {
        let (ticket, who) = (self.ticket, self.who);
        let Some(team) = self.changes.team.as_deref().filter(|t| *t != ticket.team) else {
            self.follow_routing_rules();
            return Ok(());
        };
        let known = self.desk.model.team(team).ok_or_else(|| {
            AppError::invalid("team", format!("no team '{team}' in the support model"))
        })?;
        self.set.team = Some(team.into());
        self.set.routing_rule = Some("manual".into());
        let why = self.reason.map(|r| format!(": {r}")).unwrap_or_default();
        self.set.routing_reason = Some(format!("rerouted by {}{why}", who.name));
        let detail = format!(
            "rerouted {} → {} by {}{why}",
            ticket.team, known.name, who.name
        );
        self.note(EventKind::Rerouted, detail, true);
        Ok(())
    }

    /// A reclassification that named no other team (`Changes::reroute`): the team the
    /// routing rules give the new category, as they would have at intake.
    fn follow_routing_rules(&mut self) {
        let (ticket, model) = (self.ticket, &self.desk.model);
        let Some(category) = self.set.category.filter(|_| self.changes.reroute) else {
            return;
        };
        let decision = model.router.route(&RouteQuery {
            category,
            warehouse_type: ticket.warehouse_type,
            table: ticket.table_name.as_deref(),
            severity: Some(self.set.severity.unwrap_or(ticket.severity)),
        });
        if decision.team == ticket.team {
            return;
        }
        let name_of = |key: &str| model.team(key).map_or(key, |t| t.name.as_str()).to_string();
        let detail = format!(
            "rerouted {} → {} by the routing rules for {}, after {} reclassified it",
            name_of(&ticket.team),
            name_of(&decision.team),
            category.label(),
            self.who.name
        );
        self.set.routing_reason = Some(format!(
            "{}; rerouted after {} reclassified it",
            decision.reason, self.who.name
        ));
        self.set.team = Some(decision.team);
        self.set.routing_rule = Some(decision.rule);
        self.note(EventKind::Rerouted, detail, true);
    }

    /// An assignment to an agent of the (new) team, or to nobody.
    fn assignee(&mut self, conn: &mut DbConnection) -> Result<(), AppError> {
        let Some(assignee) = &self.changes.assignee else {
            return Ok(());
        };
        let (ticket, who) = (self.ticket, self.who);
        let team = self.set.team.as_deref().unwrap_or(&ticket.team);
        let target = resolve_assignee(conn, self.desk, who, team, assignee)?;
        if target.as_ref().map(|u| u.id) == ticket.assignee_id {
            return Ok(());
        }
        self.set.assignee_id = Some(target.as_ref().map(|u| u.id));
        let detail = match &target {
            Some(user) => format!("assigned to {} by {}", user.email, who.name),
            None => format!("unassigned by {}", who.name),
        };
        self.note(EventKind::Assigned, detail, false);
        Ok(())
    }
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
        if !user.is_active() {
            return Err(AppError::invalid(
                "assignee",
                format!("{} is deactivated", user.email),
            ));
        }
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
                if !user.role.includes(Role::Agent) || !user.is_active() {
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
