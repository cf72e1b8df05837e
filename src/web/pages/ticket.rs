//! The agent's ticket page at `/tickets/{number}` and every action on it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Layout, PageContext, PageError, html, see_other};
use crate::clock::rfc3339;
use crate::db::models::event::Event;
use crate::db::models::ticket::Ticket;
use crate::db::models::ticket_run::{LinkedRun, TicketRun};
use crate::db::models::user::User;
use crate::domain::category::Category;
use crate::domain::report::FieldErrors;
use crate::domain::severity::Severity;
use crate::domain::status::{SlaState, Status};
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::ticket_changes::{Assignee, Changes, Who};
use crate::services::triage::{self, Conflict};
use crate::services::{incidents, ticket_actions};
use crate::state::Desk;
use crate::web::body;

#[derive(Template)]
#[template(path = "ticket/show.html")]
struct TicketPage {
    layout: Layout,
    ticket: Ticket,
    number: String,
    reasons: Vec<String>,
    severity_reasons: Vec<String>,
    team_name: String,
    assignee: String,
    sla_state: SlaState,
    runs: Vec<LinkedRun>,
    events: Vec<Event>,
    children: Vec<(String, String, String)>,
    teams: Vec<(String, String)>,
    conflict: Option<Vec<Event>>,
    errors: FieldErrors,
    notice: Option<String>,
    runbook: String,
}

impl TicketPage {
    fn time(&self, at: &chrono::NaiveDateTime) -> String {
        rfc3339(*at)
    }

    fn statuses(&self) -> [Status; 6] {
        Status::ALL
    }

    fn categories(&self) -> [Category; 5] {
        Category::ALL
    }

    fn severities(&self) -> [Severity; 4] {
        Severity::ALL
    }

    fn is_wrong_type(&self) -> bool {
        self.ticket.category == Category::WrongColumnType
    }

    fn parent(&self) -> Option<String> {
        self.ticket
            .parent_id
            .map(|id| TicketNumber::of(id).to_string())
    }

    fn merged_into(&self) -> Option<String> {
        self.ticket
            .merged_into
            .map(|id| TicketNumber::of(id).to_string())
    }
}

fn id_of(number: &str) -> Result<i64, PageError> {
    TicketNumber::parse(number)
        .ok()
        .map(TicketNumber::id)
        .ok_or(PageError(AppError::NotFound))
}

fn who(ctx: &PageContext) -> Who {
    Who {
        name: ctx.viewer.actor_name(),
        user_id: ctx.viewer.user.as_ref().map(|u| u.id),
    }
}

/// What a page render needs besides the ticket itself.
#[derive(Default)]
struct Extras {
    conflict: Option<Vec<Event>>,
    errors: FieldErrors,
    notice: Option<String>,
}

async fn render(
    ctx: &PageContext,
    desk: web::Data<Desk>,
    id: i64,
    status: StatusCode,
    extras: Extras,
) -> Result<HttpResponse, PageError> {
    let (ticket, runs, events, children, assignee, runbook) = desk
        .db(move |conn, _| {
            let ticket = Ticket::find(conn, id)?;
            let runs = TicketRun::for_ticket(conn, id)?;
            let events = Event::for_ticket(conn, id, false)?;
            let children = if ticket.is_incident {
                Ticket::children(conn, id)?
            } else {
                Vec::new()
            };
            let assignee = match ticket.assignee_id {
                Some(a) => User::find(conn, a)?.map(|u| u.email).unwrap_or_default(),
                None => String::new(),
            };
            let runbook = crate::runbooks::for_ticket(conn, &ticket)?;
            Ok((ticket, runs, events, children, assignee, runbook))
        })
        .await?;
    let now = desk.clock.now();
    let state = SlaState::of(ticket.status, ticket.sla_due_at, ticket.sla_warn_at, now);
    let page = TicketPage {
        layout: Layout::new(format!("{} — {}", ticket.number(), ticket.status), ctx),
        number: ticket.number().to_string(),
        reasons: ticket.classification_reasons(),
        severity_reasons: ticket.severity_reasons(),
        team_name: desk
            .model
            .team(&ticket.team)
            .map_or_else(|| ticket.team.clone(), |t| t.name.clone()),
        assignee,
        sla_state: state,
        runs,
        events,
        children: children
            .into_iter()
            .map(|c| {
                (
                    c.number().to_string(),
                    c.status.to_string(),
                    c.reporter_email,
                )
            })
            .collect(),
        teams: desk
            .model
            .teams
            .iter()
            .map(|t| (t.key.clone(), t.name.clone()))
            .collect(),
        conflict: extras.conflict,
        errors: extras.errors,
        notice: extras.notice,
        runbook,
        ticket,
    };
    html(status, &page)
}

pub async fn show(
    ctx: PageContext,
    desk: web::Data<Desk>,
    number: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    render(
        &ctx,
        desk,
        id_of(&number)?,
        StatusCode::OK,
        Extras::default(),
    )
    .await
}

/// After an action: back to the page, or the page again with what went wrong.
async fn after(
    ctx: &PageContext,
    desk: web::Data<Desk>,
    id: i64,
    result: Result<(), AppError>,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(()) => Ok(see_other(&format!("/tickets/{}", TicketNumber::of(id)))),
        Err(AppError::Invalid(errors)) => {
            render(
                ctx,
                desk,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Extras {
                    errors,
                    ..Extras::default()
                },
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct UpdateForm {
    version: i32,
    status: Option<String>,
    category: Option<String>,
    severity: Option<String>,
    team: Option<String>,
    assignee: Option<String>,
    reason: Option<String>,
}

fn changes_from(form: &UpdateForm) -> Result<Changes, AppError> {
    let mut errors = FieldErrors::new();
    let mut check = crate::domain::report::Checker(&mut errors);
    let pick = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let status = pick(&form.status).and_then(|s| check.field("status", Status::parse(&s)));
    let category = pick(&form.category).and_then(|c| check.field("category", Category::parse(&c)));
    let severity = pick(&form.severity).and_then(|s| check.field("severity", Severity::parse(&s)));
    let assignee = match pick(&form.assignee).as_deref() {
        None | Some("keep") => None,
        Some("me") => Some(Assignee::Me),
        Some("auto") => Some(Assignee::Auto),
        Some("none") => Some(Assignee::Nobody),
        Some(id) => check.field(
            "assignee",
            id.parse()
                .map(Assignee::User)
                .map_err(|_| format!("'{id}' is not a user id")),
        ),
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok(Changes {
        status,
        category,
        severity,
        team: pick(&form.team),
        assignee,
        reason: pick(&form.reason),
    })
}

/// Status, category, severity, team, assignee: one form, checked against the version the
/// agent saw.
pub async fn update(
    ctx: PageContext,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    form: body::Form<UpdateForm>,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&number)?;
    let changes = match changes_from(&form) {
        Ok(changes) => changes,
        Err(e) => return after(&ctx, desk, id, Err(e)).await,
    };
    let (who, version) = (who(&ctx), form.version);
    let outcome = desk
        .db(move |conn, desk| triage::update(conn, desk, &who, id, version, &changes))
        .await;
    match outcome {
        Ok(Ok(_)) => Ok(see_other(&format!("/tickets/{}", TicketNumber::of(id)))),
        Ok(Err(Conflict { missed, .. })) => {
            render(
                &ctx,
                desk,
                id,
                StatusCode::CONFLICT,
                Extras {
                    conflict: Some(missed),
                    ..Extras::default()
                },
            )
            .await
        }
        Err(e) => after(&ctx, desk, id, Err(e)).await,
    }
}

#[derive(Deserialize)]
pub struct CommentForm {
    body: String,
    visibility: Option<String>,
}

pub async fn comment(
    ctx: PageContext,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    form: body::Form<CommentForm>,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&number)?;
    let public = form.visibility.as_deref() == Some("public");
    let (who, body) = (who(&ctx), form.into_inner().body);
    let result = desk
        .db(move |conn, desk| {
            ticket_actions::comment(conn, desk, &who, id, &body, public).map(|_| ())
        })
        .await;
    after(&ctx, desk, id, result).await
}

#[derive(Deserialize)]
pub struct MergeForm {
    into: String,
}

pub async fn merge(
    ctx: PageContext,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    form: body::Form<MergeForm>,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&number)?;
    let into = match TicketNumber::parse(&form.into) {
        Ok(into) => into.id(),
        Err(message) => {
            let errors = std::iter::once(("into", message)).collect();
            return after(&ctx, desk, id, Err(AppError::Invalid(errors))).await;
        }
    };
    let who = who(&ctx);
    let result = desk
        .db(move |conn, desk| ticket_actions::merge(conn, desk, &who, id, into).map(|_| ()))
        .await;
    after(&ctx, desk, id, result).await
}

#[derive(Deserialize)]
pub struct RunForm {
    run_id: String,
    action: String,
}

pub async fn runs(
    ctx: PageContext,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    form: body::Form<RunForm>,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&number)?;
    let link = form.action != "unlink";
    let (who, run_id) = (who(&ctx), form.into_inner().run_id);
    let result = desk
        .db(move |conn, desk| {
            ticket_actions::link_run(conn, desk, &who, id, &run_id, link).map(|_| ())
        })
        .await;
    after(&ctx, desk, id, result).await
}

#[derive(Deserialize)]
pub struct VerdictForm {
    verdict: String,
}

pub async fn verdict(
    ctx: PageContext,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    form: body::Form<VerdictForm>,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&number)?;
    let confirmed = match form.verdict.as_str() {
        "confirmed" => true,
        "rejected" => false,
        other => {
            return Err(AppError::BadRequest(format!(
                "verdict is confirmed or rejected, not '{other}'"
            ))
            .into());
        }
    };
    let who = who(&ctx);
    let result = desk
        .db(move |conn, desk| {
            ticket_actions::type_verdict(conn, desk, &who, id, confirmed).map(|_| ())
        })
        .await;
    after(&ctx, desk, id, result).await
}

#[derive(Deserialize)]
pub struct IncidentForm {
    action: String,
    incident: Option<String>,
    body: Option<String>,
}

/// Declare an incident, attach this ticket to one, or post a public incident update.
pub async fn incident(
    ctx: PageContext,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    form: body::Form<IncidentForm>,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&number)?;
    let form = form.into_inner();
    let who = who(&ctx);
    let result = desk
        .db(move |conn, desk| match form.action.as_str() {
            "declare" => incidents::declare(conn, desk, &who, id).map(|_| None),
            "attach" => {
                let incident = TicketNumber::parse(form.incident.as_deref().unwrap_or(""))
                    .map_err(|message| AppError::invalid("incident", message))?
                    .id();
                incidents::attach(conn, desk, &who, id, incident).map(|_| None)
            }
            "update" => incidents::update(conn, desk, &who, id, form.body.as_deref().unwrap_or(""))
                .map(|posted| Some(posted.confirmation(desk.clock.now()))),
            other => Err(AppError::BadRequest(format!(
                "unknown incident action '{other}'"
            ))),
        })
        .await;
    match result {
        Ok(Some(notice)) => Ok(crate::web::flash::see_other_with(
            &format!("/tickets/{}", TicketNumber::of(id)),
            notice,
        )),
        Ok(None) => Ok(see_other(&format!("/tickets/{}", TicketNumber::of(id)))),
        Err(e) => after(&ctx, desk, id, Err(e)).await,
    }
}
