//! The owner's escalation view at `/escalations`, and acknowledging from an email link.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;
use std::collections::BTreeSet;

use chrono::NaiveDateTime;

use super::{Layout, PageContext, PageError, html};
use crate::db::models::escalation::TicketEscalation;
use crate::db::models::ticket::Ticket;
use crate::db::models::ticket_run::TicketRun;
use crate::db::models::user::User;
use crate::db::schema::tickets;
use crate::domain::role::Role;
use crate::domain::severity::Severity;
use crate::domain::status::{SlaState, Status};
use crate::domain::text::first_line;
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::escalation::{self, AckScope, Acknowledgement};
use crate::services::ticket_changes::Who;
use crate::state::Desk;
use crate::web::flash;

/// One row: a ticket that breached, is about to, or has escalated, as its owner reads it.
struct Row {
    number: String,
    summary: String,
    table: Option<String>,
    severity: Severity,
    team: String,
    status: String,
    state: SlaState,
    /// The deadline the SLA state is about.
    due: NaiveDateTime,
    step: Option<FiredStep>,
    acknowledged: bool,
    assignee: Option<String>,
    reports: usize,
    analysts: usize,
    runs: usize,
}

/// The last step that fired on a ticket, in words.
struct FiredStep {
    label: String,
    rule: String,
    at: NaiveDateTime,
}

#[derive(Template)]
#[template(path = "escalations/index.html")]
struct EscalationsPage {
    layout: Layout,
    rows: Vec<Row>,
    scope: String,
}

/// Where a state sorts: what needs the owner first.
fn urgency(state: SlaState) -> u8 {
    match state {
        SlaState::Breached => 0,
        SlaState::AtRisk => 1,
        SlaState::OnTrack => 2,
        SlaState::Paused => 3,
        SlaState::Stopped => 4,
    }
}

/// The step a recorded key names, in words; `None` for a record that only notes a skipped
/// repeat.
fn fired_step(desk: &Desk, record: &TicketEscalation) -> Option<FiredStep> {
    let name = record.step.split('#').next().unwrap_or(&record.step);
    let step = desk.model.escalation.iter().find(|s| s.name == name)?;
    let (nth, total) = step.firing_of(&record.step);
    Some(FiredStep {
        label: if total > 1 {
            format!("{} ({nth} of {total})", step.label())
        } else {
            step.label()
        },
        rule: step.rule(),
        at: record.at,
    })
}

pub async fn index(ctx: PageContext, desk: web::Data<Desk>) -> Result<HttpResponse, PageError> {
    let me = ctx.signed_in()?.clone();
    // Owners see their teams; admins see everything.
    let teams = (me.role != Role::Admin).then(|| desk.model.teams_involving(&me.email));
    let team_name = |key: &str| {
        desk.model
            .team(key)
            .map_or(key, |t| t.name.as_str())
            .to_string()
    };
    let scope = match &teams {
        Some(t) if t.is_empty() => {
            "none of the teams (ask an admin to list you in the support model)".to_string()
        }
        Some(t) => t
            .iter()
            .map(|k| team_name(k))
            .collect::<Vec<_>>()
            .join(", "),
        None => "all teams".to_string(),
    };
    let now = ctx.now;
    let rows = desk
        .db(move |conn, desk| {
            let active = [Status::New, Status::Triaged, Status::InProgress];
            let mut query = tickets::table
                .filter(tickets::status.eq_any(active))
                .filter(tickets::sla_warn_at.le(now))
                .filter(tickets::parent_id.is_null())
                .order((tickets::severity.asc(), tickets::sla_due_at.asc()))
                .limit(200)
                .select(Ticket::as_select())
                .into_boxed();
            if let Some(teams) = &teams {
                query = query.filter(tickets::team.eq_any(teams.clone()));
            }
            let found: Vec<Ticket> = query.load(conn)?;
            let ids: Vec<i64> = found.iter().map(|t| t.id).collect();
            let mut steps = TicketEscalation::for_tickets(conn, &ids)?;
            // An incident counts the reports attached to it, their analysts and runs.
            let incidents: Vec<i64> = found
                .iter()
                .filter(|t| t.is_incident)
                .map(|t| t.id)
                .collect();
            let children = Ticket::children_of_any(conn, &incidents)?;
            let all_ids: Vec<i64> = ids
                .iter()
                .copied()
                .chain(children.iter().map(|c| c.id))
                .collect();
            let run_ids = TicketRun::run_ids_for(conn, &all_ids)?;
            let assignees: Vec<i64> = found.iter().filter_map(|t| t.assignee_id).collect();
            let names = User::names(conn, &assignees)?;
            let mut rows = Vec::new();
            for t in found {
                let family: Vec<&Ticket> = std::iter::once(&t)
                    .chain(children.iter().filter(|c| c.parent_id == Some(t.id)))
                    .collect();
                let analysts: BTreeSet<&str> =
                    family.iter().map(|c| c.reporter_email.as_str()).collect();
                let runs: BTreeSet<&String> = family
                    .iter()
                    .filter_map(|c| run_ids.get(&c.id))
                    .flatten()
                    .collect();
                let assignee = t.assignee_id.and_then(|id| names.get(&id).cloned());
                let step = steps
                    .remove(&t.id)
                    .unwrap_or_default()
                    .iter()
                    .rev()
                    .find_map(|record| fired_step(desk, record));
                rows.push(Row {
                    number: t.number().to_string(),
                    summary: first_line(&t.description, 100),
                    table: t.table_name.clone(),
                    severity: t.severity,
                    team: desk
                        .model
                        .team(&t.team)
                        .map_or_else(|| t.team.clone(), |team| team.name.clone()),
                    status: t.status.label().to_string(),
                    state: SlaState::of(t.status, t.sla_due_at, t.sla_warn_at, now),
                    due: t.sla_due_at,
                    step,
                    acknowledged: t.acknowledged_at.is_some(),
                    assignee,
                    reports: family.len(),
                    analysts: analysts.len(),
                    runs: runs.len(),
                });
            }
            // What needs the owner first: the most severe, then breached before at risk,
            // then the nearest deadline.
            rows.sort_by_key(|r| (r.severity, urgency(r.state), r.due));
            Ok(rows)
        })
        .await?;
    html(
        StatusCode::OK,
        &EscalationsPage {
            layout: Layout::new("Escalations", &ctx),
            rows,
            scope,
        },
    )
}

/// The confirmation after acknowledging, naming the ticket by what it is about.
fn confirmation(outcome: &Acknowledgement) -> String {
    let t = &outcome.ticket;
    let what = format!("{} “{}”", t.number(), first_line(&t.description, 100));
    match (outcome.done, outcome.took_ownership) {
        (false, _) => format!("{what} was already acknowledged; nothing changed."),
        (true, true) => format!(
            "Acknowledged {what}. It is assigned to you now (hand it on from the ticket page); further escalation steps wait until it changes."
        ),
        (true, false) => {
            format!("Acknowledged {what}. Further escalation steps wait until it changes.")
        }
    }
}

/// The acknowledge button in the view: the owner takes an unassigned ticket.
pub async fn acknowledge(
    ctx: PageContext,
    desk: web::Data<Desk>,
    number: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = TicketNumber::parse(&number)
        .ok()
        .map(TicketNumber::id)
        .ok_or(PageError(AppError::NotFound))?;
    let me = ctx.signed_in()?.clone();
    let scope = if me.role == Role::Admin {
        AckScope::AnyTeam
    } else {
        AckScope::Teams(desk.model.teams_involving(&me.email))
    };
    let who = Who {
        name: me.email.clone(),
        user_id: Some(me.id),
    };
    let outcome = desk
        .db(move |conn, desk| escalation::acknowledge_as(conn, desk, id, &who, None, &scope))
        .await?;
    Ok(flash::see_other_with(
        "/escalations",
        confirmation(&outcome),
    ))
}

#[derive(Template)]
#[template(path = "escalations/ack.html")]
struct AckPage {
    layout: Layout,
    token: String,
    number: String,
    summary: String,
    severity: Severity,
    team: String,
    status: String,
    table: Option<String>,
    state: SlaState,
    due: NaiveDateTime,
    step: Option<FiredStep>,
    assignee: Option<String>,
    /// Already acknowledged (this step): by whom and when.
    acknowledged: Option<(String, NaiveDateTime)>,
    /// Whom acknowledging makes the owner, when nobody has the ticket.
    taker: Option<String>,
    signed_in_agent: bool,
}

/// The link in an escalation email shows what is being acknowledged and a confirm
/// button: mail scanners follow links, and a GET must not acknowledge anything.
pub async fn ack_link(
    ctx: PageContext,
    desk: web::Data<Desk>,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let claim = escalation::verify_ack_token(&desk.signing_key, &token, ctx.now)
        .map_err(AppError::Forbidden)?;
    let viewer = ctx.viewer.user.clone();
    let page = desk
        .db(move |conn, _| {
            let ticket = Ticket::find(conn, claim.ticket_id)?;
            let record =
                TicketEscalation::find(conn, ticket.id, &claim.step)?.ok_or(AppError::NotFound)?;
            let assignee = match ticket.assignee_id {
                Some(id) => User::find(conn, id)?.map(|u| u.name.unwrap_or(u.email)),
                None => None,
            };
            let taker = match &viewer {
                Some(me) if me.role.includes(Role::Agent) => Some(me.email.clone()),
                _ => escalation::link_holder(conn, &claim)?.map(|u| u.name.unwrap_or(u.email)),
            };
            let acknowledged = record.acknowledged_at.map(|at| {
                let by = record
                    .acknowledged_by
                    .clone()
                    .unwrap_or_else(|| "someone".into());
                (by, at)
            });
            Ok((ticket, record, assignee, taker, acknowledged))
        })
        .await?;
    let (ticket, record, assignee, taker, acknowledged) = page;
    let page = AckPage {
        layout: Layout::new(format!("Acknowledge {}", ticket.number()), &ctx),
        token,
        number: ticket.number().to_string(),
        summary: first_line(&ticket.description, 100),
        severity: ticket.severity,
        team: desk.model.team_name(&ticket.team).to_string(),
        status: ticket.status.label().to_string(),
        table: ticket.table_name.clone(),
        state: SlaState::of(
            ticket.status,
            ticket.sla_due_at,
            ticket.sla_warn_at,
            ctx.now,
        ),
        due: ticket.sla_due_at,
        step: fired_step(&desk, &record),
        taker: taker.filter(|_| assignee.is_none()),
        assignee,
        acknowledged,
        signed_in_agent: ctx.viewer.has_role(Role::Agent),
    };
    html(StatusCode::OK, &page)
}

/// Acknowledge once, as the person signed in or else the person the link was emailed to
/// (who takes the ticket if nobody has it); back to the link's page with what happened.
pub async fn ack_confirm(
    ctx: PageContext,
    desk: web::Data<Desk>,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let claim = escalation::verify_ack_token(&desk.signing_key, &token, ctx.now)
        .map_err(AppError::Forbidden)?;
    let viewer = ctx.viewer.user.clone();
    let outcome = desk
        .db(move |conn, desk| {
            let person = match viewer {
                Some(me) if me.role.includes(Role::Agent) => Some((me.email, me.id)),
                _ => escalation::link_holder(conn, &claim)?.map(|u| (u.email, u.id)),
            };
            let who = match person {
                Some((email, id)) => Who {
                    name: email,
                    user_id: Some(id),
                },
                None => Who {
                    name: format!(
                        "email link to {}",
                        claim
                            .recipient
                            .as_deref()
                            .unwrap_or("the escalation's recipients")
                    ),
                    user_id: None,
                },
            };
            escalation::acknowledge_as(
                conn,
                desk,
                claim.ticket_id,
                &who,
                Some(&claim.step),
                &AckScope::AnyTeam,
            )
        })
        .await?;
    Ok(flash::see_other_with(
        &format!("/ack/{token}"),
        confirmation(&outcome),
    ))
}
