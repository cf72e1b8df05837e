//! The owner's escalation view at `/escalations`, and acknowledging from an email link.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;
use std::collections::BTreeSet;

use super::{Layout, PageContext, PageError, html, see_other};
use crate::clock::rfc3339;
use crate::db::models::escalation::TicketEscalation;
use crate::db::models::ticket::Ticket;
use crate::db::models::ticket_run::TicketRun;
use crate::db::schema::tickets;
use crate::domain::role::Role;
use crate::domain::status::{SlaState, Status};
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::escalation::{self, AckScope};
use crate::state::Desk;

/// One row: a ticket that breached, is about to, or has escalated.
struct Row {
    number: String,
    severity: String,
    team: String,
    status: String,
    state: SlaState,
    step: String,
    acknowledged: bool,
    timing: String,
    reports: usize,
    analysts: usize,
    tables: usize,
    runs: usize,
}

#[derive(Template)]
#[template(path = "escalations/index.html")]
struct EscalationsPage {
    layout: Layout,
    rows: Vec<Row>,
    scope: String,
}

fn timing(due: chrono::NaiveDateTime, now: chrono::NaiveDateTime) -> String {
    let minutes = (due - now).num_minutes();
    if minutes >= 0 {
        format!("breaches in {minutes} min")
    } else {
        format!("breached {} min ago", -minutes)
    }
}

pub async fn index(ctx: PageContext, desk: web::Data<Desk>) -> Result<HttpResponse, PageError> {
    let me = ctx
        .viewer
        .user
        .clone()
        .ok_or_else(|| AppError::Unauthorized("Sign in first.".into()))?;
    // Owners see their teams; admins see everything.
    let teams = (me.role != Role::Admin).then(|| desk.model.teams_involving(&me.email));
    let scope = match &teams {
        Some(t) if t.is_empty() => {
            "none of the teams (ask an admin to list you in the support model)".to_string()
        }
        Some(t) => t.join(", "),
        None => "all teams".to_string(),
    };
    let rows = desk
        .db(move |conn, desk| {
            let now = desk.clock.now();
            let active = [Status::New, Status::Triaged, Status::InProgress];
            let mut query = tickets::table
                .filter(tickets::status.eq_any(active))
                .filter(tickets::sla_warn_at.le(now))
                .filter(tickets::parent_id.is_null())
                .order(tickets::sla_due_at.asc())
                .limit(200)
                .select(Ticket::as_select())
                .into_boxed();
            if let Some(teams) = &teams {
                query = query.filter(tickets::team.eq_any(teams.clone()));
            }
            let found: Vec<Ticket> = query.load(conn)?;
            let ids: Vec<i64> = found.iter().map(|t| t.id).collect();
            let latest = TicketEscalation::latest_for(conn, &ids)?;
            let mut rows = Vec::new();
            for t in found {
                let children = if t.is_incident {
                    Ticket::children(conn, t.id)?
                } else {
                    Vec::new()
                };
                let family: Vec<&Ticket> = std::iter::once(&t).chain(children.iter()).collect();
                let analysts: BTreeSet<&str> =
                    family.iter().map(|c| c.reporter_email.as_str()).collect();
                let tables: BTreeSet<&str> = family
                    .iter()
                    .filter_map(|c| c.table_name.as_deref())
                    .collect();
                let run_ids =
                    TicketRun::run_ids_for(conn, &family.iter().map(|c| c.id).collect::<Vec<_>>())?;
                let runs: BTreeSet<&String> = run_ids.values().flatten().collect();
                let status = t.status;
                let step = latest.get(&t.id);
                rows.push(Row {
                    number: t.number().to_string(),
                    severity: t.severity.to_string(),
                    team: t.team.clone(),
                    status: t.status.to_string(),
                    state: SlaState::of(status, t.sla_due_at, t.sla_warn_at, now),
                    step: step
                        .map(|s| s.step.clone())
                        .unwrap_or_else(|| "none yet".into()),
                    acknowledged: t.acknowledged_at.is_some(),
                    timing: timing(t.sla_due_at, now),
                    reports: family.len(),
                    analysts: analysts.len(),
                    tables: tables.len(),
                    runs: runs.len(),
                });
            }
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

/// The acknowledge button in the view.
pub async fn acknowledge(
    ctx: PageContext,
    desk: web::Data<Desk>,
    number: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = TicketNumber::parse(&number)
        .ok()
        .map(TicketNumber::id)
        .ok_or(PageError(AppError::NotFound))?;
    let by = ctx.viewer.actor_name();
    let scope = match &ctx.viewer.user {
        Some(me) if me.role == Role::Admin => AckScope::AnyTeam,
        Some(me) => AckScope::Teams(desk.model.teams_involving(&me.email)),
        None => return Err(AppError::Unauthorized("Sign in first.".into()).into()),
    };
    desk.db(move |conn, desk| escalation::acknowledge(conn, desk, id, &by, None, &scope))
        .await?;
    Ok(see_other("/escalations"))
}

#[derive(Template)]
#[template(path = "escalations/ack.html")]
struct AckPage {
    layout: Layout,
    token: String,
    number: String,
    step: String,
    message: Option<String>,
}

/// The link in an escalation email shows a confirm button: mail scanners follow links,
/// and a GET must not acknowledge anything.
pub async fn ack_link(
    ctx: PageContext,
    desk: web::Data<Desk>,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let (id, step) = escalation::verify_ack_token(&desk.signing_key, &token, desk.clock.now())
        .map_err(AppError::Forbidden)?;
    let page = AckPage {
        layout: Layout::new("Acknowledge escalation", &ctx),
        token,
        number: TicketNumber::of(id).to_string(),
        step,
        message: None,
    };
    html(StatusCode::OK, &page)
}

/// Acknowledge once; a second use says so.
pub async fn ack_confirm(
    ctx: PageContext,
    desk: web::Data<Desk>,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let (id, step) = escalation::verify_ack_token(&desk.signing_key, &token, desk.clock.now())
        .map_err(AppError::Forbidden)?;
    let by = format!("email link ({step})");
    let step2 = step.clone();
    let done = desk
        .db(move |conn, desk| {
            escalation::acknowledge(conn, desk, id, &by, Some(&step2), &AckScope::AnyTeam)
        })
        .await?;
    let (status, message) = if done {
        (
            StatusCode::OK,
            format!(
                "Acknowledged at {}. Further escalation steps wait until the ticket changes.",
                rfc3339(desk.clock.now())
            ),
        )
    } else {
        (
            StatusCode::GONE,
            "This escalation was already acknowledged; the link works once.".to_string(),
        )
    };
    let page = AckPage {
        layout: Layout::new("Acknowledge escalation", &ctx),
        token,
        number: TicketNumber::of(id).to_string(),
        step,
        message: Some(message),
    };
    html(status, &page)
}
