//! The agent's ticket page at `/tickets/{number}` and every action on it. Each action
//! answers with a redirect to the page and a confirmation of what it did; a refused one
//! shows the page again (422) with the message beside the control.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::ticket_view::{Extras, render};
use super::{PageContext, PageError};
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::domain::category::Category;
use crate::domain::report::FieldErrors;
use crate::domain::severity::Severity;
use crate::domain::status::Status;
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::ticket_changes::{Assignee, Changes};
use crate::services::triage::{self, Conflict};
use crate::services::{incidents, ticket_actions};
use crate::state::Desk;
use crate::web::attachments::FilesForm;
use crate::web::{body, flash};

fn id_of(number: &str) -> Result<i64, PageError> {
    TicketNumber::parse(number)
        .ok()
        .map(TicketNumber::id)
        .ok_or(PageError(AppError::NotFound))
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

/// After an action: back to the page with its confirmation, or the page again with what
/// went wrong beside the control (and the reply being written, kept).
async fn after(
    ctx: &PageContext,
    desk: web::Data<Desk>,
    id: i64,
    result: Result<String, AppError>,
    draft: String,
) -> Result<HttpResponse, PageError> {
    after_with(ctx, desk, id, result, draft, false).await
}

/// `after`, saying whether files came with a form that is shown again.
async fn after_with(
    ctx: &PageContext,
    desk: web::Data<Desk>,
    id: i64,
    result: Result<String, AppError>,
    draft: String,
    files_dropped: bool,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(done) => Ok(flash::see_other_with(
            &format!("/tickets/{}", TicketNumber::of(id)),
            done,
        )),
        Err(AppError::Invalid(errors)) => {
            let extras = Extras {
                errors,
                draft,
                files_dropped,
                ..Extras::default()
            };
            render(ctx, desk, id, StatusCode::UNPROCESSABLE_ENTITY, extras).await
        }
        Err(other) => Err(other.into()),
    }
}

/// A service's message about `from`, shown beside this page's control `to` (two forms
/// on the page have a status, two a text body).
fn beside(
    result: Result<String, AppError>,
    from: &'static str,
    to: &'static str,
) -> Result<String, AppError> {
    result.map_err(|e| match e {
        AppError::Invalid(mut errors) => {
            if let Some(message) = errors.remove(from) {
                errors.insert(to, message);
            }
            AppError::Invalid(errors)
        }
        other => other,
    })
}

#[derive(Deserialize)]
pub struct UpdateForm {
    version: i32,
    status: Option<String>,
    category: Option<String>,
    severity: Option<String>,
    team: Option<String>,
    /// "on": a new category keeps the current team instead of following the routing rules.
    keep_team: Option<String>,
    assignee: Option<String>,
    reason: Option<String>,
}

fn pick(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The change the form asks for, against `current`: a new category with the team left
/// as it was follows the routing rules, unless the agent keeps the team.
fn changes_from(form: &UpdateForm, current: &Ticket) -> Result<Changes, AppError> {
    let mut errors = FieldErrors::new();
    let mut check = crate::domain::report::Checker(&mut errors);
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
                .map_err(|_| "Choose someone from the list.".to_string()),
        ),
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let recategorised = category.is_some_and(|c| c != current.category);
    let team = pick(&form.team).filter(|t| *t != current.team);
    let reroute = recategorised && team.is_none() && form.keep_team.is_none();
    Ok(Changes {
        status,
        category,
        severity,
        team,
        assignee,
        reason: pick(&form.reason),
        reroute,
    })
}

/// What an update did, for the confirmation: "Updated INS-1042: status Resolved; assigned
/// to Dana".
fn describe_update(before: &Ticket, after: &Ticket, assignee: Option<&str>, desk: &Desk) -> String {
    let mut done = Vec::new();
    if before.status != after.status {
        done.push(format!("status {}", after.status.label()));
    }
    if before.category != after.category {
        done.push(format!("category {}", after.category.label()));
    }
    if before.severity != after.severity {
        done.push(format!("severity {}", after.severity.label()));
    }
    if before.team != after.team {
        let name = desk.model.team_name(&after.team);
        let how = if after.routing_rule == "manual" {
            ""
        } else {
            " by the routing rules"
        };
        done.push(format!("sent to {name}{how}"));
    }
    if before.assignee_id != after.assignee_id {
        done.push(match assignee {
            Some(name) => format!("assigned to {name}"),
            None => "unassigned".to_string(),
        });
    }
    if done.is_empty() {
        format!("Nothing to change on {}.", after.number())
    } else {
        format!("Updated {}: {}.", after.number(), done.join("; "))
    }
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
    let (who, form) = (ctx.viewer.who(), form.into_inner());
    let outcome = desk
        .db(move |conn, desk| {
            let before = Ticket::find(conn, id)?;
            let changes = changes_from(&form, &before)?;
            Ok(
                match triage::update(conn, desk, &who, id, form.version, &changes)? {
                    Ok(after) => {
                        let assignee = match after.assignee_id {
                            Some(a) => User::find(conn, a)?.map(|u| u.name.unwrap_or(u.email)),
                            None => None,
                        };
                        Ok(describe_update(&before, &after, assignee.as_deref(), desk))
                    }
                    Err(conflict) => Err(conflict),
                },
            )
        })
        .await;
    match outcome {
        Ok(Ok(done)) => after(&ctx, desk, id, Ok(done), String::new()).await,
        Ok(Err(Conflict { missed, .. })) => {
            let extras = Extras {
                conflict: Some(missed),
                ..Extras::default()
            };
            render(&ctx, desk, id, StatusCode::CONFLICT, extras).await
        }
        Err(e) => after(&ctx, desk, id, Err(e), String::new()).await,
    }
}

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
    visibility: Option<String>,
    /// A status the reply also moves the ticket to; empty keeps it.
    status: Option<String>,
}

/// A reply to the reporter or an internal note, with files or without, which may also
/// move the status: one submit, and for a public reply one email to the reporter saying
/// both (its files as links). The files follow the reply: public with a reply, internal
/// with a note.
pub async fn comment(
    ctx: PageContext,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    sent: FilesForm,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&number)?;
    let form: CommentForm = sent.decode()?;
    let dropped = sent.had_files();
    let public = form.visibility.as_deref() == Some("public");
    let status = match pick(&form.status).map(|s| Status::parse(&s)).transpose() {
        Ok(status) => status,
        Err(message) => {
            let error = AppError::invalid("reply_status", message);
            return after_with(&ctx, desk, id, Err(error), form.body, dropped).await;
        }
    };
    // Over the total limit the files were not read to the end: none reach the service.
    if let Some(message) = sent.too_much {
        let error = AppError::invalid("attachments", message);
        return after_with(&ctx, desk, id, Err(error), form.body, dropped).await;
    }
    let (who, body, files) = (ctx.viewer.who(), form.body.clone(), sent.files);
    let result = desk
        .db(move |conn, desk| {
            let before = Ticket::find(conn, id)?.status;
            let (saved, stored) = ticket_actions::reply_with_files(
                conn, desk, &who, id, &body, public, status, &files,
            )?;
            let what = match (public, stored.len()) {
                (true, 0) => "Reply sent to the reporter".to_string(),
                (true, 1) => "Reply sent to the reporter with 1 file".to_string(),
                (true, n) => format!("Reply sent to the reporter with {n} files"),
                (false, 0) => "Internal note added".to_string(),
                (false, 1) => "Internal note added with 1 file".to_string(),
                (false, n) => format!("Internal note added with {n} files"),
            };
            Ok(if saved.status == before {
                format!("{what} on {}.", saved.number())
            } else {
                format!(
                    "{what}; {} is now {}.",
                    saved.number(),
                    saved.status.label()
                )
            })
        })
        .await;
    after_with(
        &ctx,
        desk,
        id,
        beside(result, "status", "reply_status"),
        form.body,
        dropped,
    )
    .await
}

#[derive(Deserialize)]
pub struct MergeForm {
    /// A ticket picked from the suggestions.
    into: Option<String>,
    /// A number typed instead; it wins over a pick.
    into_typed: Option<String>,
}

pub async fn merge(
    ctx: PageContext,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    form: body::Form<MergeForm>,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&number)?;
    let chosen = pick(&form.into_typed).or_else(|| pick(&form.into));
    let into = match chosen.as_deref().map(TicketNumber::parse) {
        Some(Ok(into)) => into.id(),
        Some(Err(message)) => {
            let error = AppError::invalid("into", message);
            return after(&ctx, desk, id, Err(error), String::new()).await;
        }
        None => {
            let error = AppError::invalid("into", "Pick the ticket this one duplicates.");
            return after(&ctx, desk, id, Err(error), String::new()).await;
        }
    };
    let who = ctx.viewer.who();
    let result = desk
        .db(move |conn, desk| {
            let merged = ticket_actions::merge(conn, desk, &who, id, into)?;
            Ok(format!(
                "Merged {} into {}; its reporter was told.",
                merged.number(),
                TicketNumber::of(into)
            ))
        })
        .await;
    after(&ctx, desk, id, result, String::new()).await
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
    let (who, run_id) = (ctx.viewer.who(), form.into_inner().run_id);
    let result = desk
        .db(move |conn, desk| {
            ticket_actions::link_run(conn, desk, &who, id, &run_id, link)?;
            let run_id = run_id.trim();
            Ok(if link {
                format!("Linked run {run_id}.")
            } else {
                format!("Unlinked run {run_id}.")
            })
        })
        .await;
    after(&ctx, desk, id, result, String::new()).await
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
        _ => {
            let error = AppError::invalid("verdict", "Confirm or reject the wrong type.");
            return after(&ctx, desk, id, Err(error), String::new()).await;
        }
    };
    let who = ctx.viewer.who();
    let result = desk
        .db(move |conn, desk| {
            let ticket = ticket_actions::type_verdict(conn, desk, &who, id, confirmed)?;
            let column = ticket.column_name.as_deref().unwrap_or("the column");
            Ok(if confirmed {
                format!("Confirmed: the type of {column} is wrong.")
            } else {
                format!("Rejected: the type of {column} is right.")
            })
        })
        .await;
    after(&ctx, desk, id, result, String::new()).await
}

#[derive(Deserialize)]
pub struct IncidentForm {
    action: String,
    /// An incident picked from the open ones.
    incident: Option<String>,
    /// A number typed instead; it wins over a pick.
    incident_typed: Option<String>,
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
    let who = ctx.viewer.who();
    let result = desk
        .db(move |conn, desk| match form.action.as_str() {
            "declare" => incidents::declare(conn, desk, &who, id)
                .map(|t| format!("{} is now an incident.", t.number())),
            "attach" => {
                let chosen = pick(&form.incident_typed).or_else(|| pick(&form.incident));
                let incident = TicketNumber::parse(chosen.as_deref().unwrap_or(""))
                    .map_err(|_| AppError::invalid("incident", "Pick the incident to attach to."))?
                    .id();
                incidents::attach(conn, desk, &who, id, incident).map(|t| {
                    format!(
                        "Attached {} to incident {}.",
                        t.number(),
                        TicketNumber::of(incident)
                    )
                })
            }
            "update" => incidents::update(conn, desk, &who, id, form.body.as_deref().unwrap_or(""))
                .map(|posted| posted.confirmation(desk.clock.now())),
            _ => Err(AppError::invalid("incident", "Choose what to do.")),
        })
        .await;
    after(
        &ctx,
        desk,
        id,
        beside(result, "body", "incident_body"),
        String::new(),
    )
    .await
}
