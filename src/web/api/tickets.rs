//! Tickets as JSON: lookup, the queue, changes with lost-update protection, comments,
//! merges and the timeline.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

use super::ApiError;
use super::attachments::AttachmentJson;
use super::ticket_patch::{TicketPatch, expected_version, parse_patch};
use crate::clock::rfc3339;
use crate::db::DbConnection;
use crate::db::models::attachment::Attachment;
use crate::db::models::escalation::TicketEscalation;
use crate::db::models::event::Event;
use crate::db::models::signal_incident::SignalIncident;
use crate::db::models::ticket::Ticket;
use crate::db::models::ticket_run::TicketRun;
use crate::db::models::user::User;
use crate::domain::status::{SlaState, Status};
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::queue::{self, QueueQuery, RawQueueQuery};
use crate::services::ticket_actions;
use crate::services::ticket_changes::Who;
use crate::services::triage;
use crate::state::Desk;
use crate::web::auth::Viewer;

/// Where a ticket stands against its SLA.
#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct SlaJson {
    /// breached, at_risk, on_track, paused or stopped.
    pub state: String,
    pub first_response_due: String,
    pub resolution_due: String,
    pub paused: bool,
    /// The next deadline the queue sorts on.
    pub next_due: String,
}

/// A ticket as the API shows it.
#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct TicketJson {
    /// Human number, e.g. `INS-1042`.
    pub number: String,
    /// The analyst's tracking page (unguessable link).
    pub tracking_url: String,
    pub status: String,
    pub category: String,
    /// 0 to 1.
    pub confidence: f64,
    /// Why the classifier picked the category.
    pub reasons: Vec<String>,
    pub severity: String,
    pub severity_reasons: Vec<String>,
    /// Owning team key.
    pub team: String,
    /// Name of the routing rule that matched, `fallback`, or `manual` after a reroute.
    pub routing_rule: String,
    pub routing_reason: String,
    /// Run ids linked to the ticket.
    pub linked_runs: Vec<String>,
    /// RFC 3339, UTC.
    pub first_response_due: String,
    /// RFC 3339, UTC.
    pub resolution_due: String,
    pub sla: SlaJson,
    pub created_at: String,
    pub updated_at: String,
    pub kind: String,
    pub warehouse_type: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    pub impact: Option<String>,
    pub assignee: Option<String>,
    pub is_incident: bool,
    /// The incident this ticket is attached to.
    pub incident: Option<String>,
    pub merged_into: Option<String>,
    /// confirmed or rejected, for wrong-column-type reports.
    pub type_verdict: Option<String>,
    /// Escalation steps reached, oldest first.
    pub escalations: Vec<EscalationJson>,
    /// The runbook to work it by: its category's, or for an incident a threshold rule
    /// opened, its signal's section.
    pub runbook_url: String,
    /// Files on the ticket, oldest first (internal ones included).
    pub attachments: Vec<AttachmentJson>,
    /// Send it back with a change (or as If-Match) to guard against lost updates.
    pub version: i32,
}

/// One escalation step a ticket reached.
#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct EscalationJson {
    pub step: String,
    pub at: String,
    pub recipients: Vec<String>,
    pub acknowledged: bool,
}

impl From<TicketEscalation> for EscalationJson {
    fn from(e: TicketEscalation) -> Self {
        EscalationJson {
            step: e.step,
            at: rfc3339(e.at),
            recipients: e
                .recipients
                .split(", ")
                .filter(|r| r.contains('@'))
                .map(str::to_string)
                .collect(),
            acknowledged: e.acknowledged_at.is_some(),
        }
    }
}

fn number_of(id: Option<i64>) -> Option<String> {
    id.map(|id| TicketNumber::of(id).to_string())
}

impl TicketJson {
    pub fn build(
        desk: &Desk,
        ticket: Ticket,
        linked_runs: Vec<String>,
        assignee: Option<String>,
        escalations: Vec<TicketEscalation>,
    ) -> Self {
        let status = ticket.status;
        let state = SlaState::of(
            status,
            ticket.sla_due_at,
            ticket.sla_warn_at,
            desk.clock.now(),
        );
        let runbook_url = crate::runbooks::for_category(ticket.category).to_string();
        TicketJson {
            runbook_url,
            number: ticket.number().to_string(),
            tracking_url: desk.mail.tracking_url(&ticket.tracking_token),
            reasons: ticket.classification_reasons(),
            severity_reasons: ticket.severity_reasons(),
            linked_runs,
            first_response_due: rfc3339(ticket.first_response_due),
            resolution_due: rfc3339(ticket.resolution_due),
            sla: SlaJson {
                state: state.as_str().into(),
                first_response_due: rfc3339(ticket.first_response_due),
                resolution_due: rfc3339(ticket.resolution_due),
                paused: state == SlaState::Paused,
                next_due: rfc3339(ticket.sla_due_at),
            },
            created_at: rfc3339(ticket.created_at),
            updated_at: rfc3339(ticket.updated_at),
            incident: number_of(ticket.parent_id),
            merged_into: number_of(ticket.merged_into),
            assignee,
            status: ticket.status.to_string(),
            category: ticket.category.to_string(),
            confidence: ticket.confidence,
            severity: ticket.severity.to_string(),
            team: ticket.team,
            routing_rule: ticket.routing_rule,
            routing_reason: ticket.routing_reason,
            kind: ticket.kind.to_string(),
            warehouse_type: ticket.warehouse_type.map(|w| w.to_string()),
            table: ticket.table_name,
            column: ticket.column_name,
            impact: ticket.impact.map(|i| i.to_string()),
            is_incident: ticket.is_incident,
            type_verdict: ticket.type_verdict.map(|v| v.to_string()),
            escalations: escalations.into_iter().map(EscalationJson::from).collect(),
            attachments: Vec::new(),
            version: ticket.version,
        }
    }

    pub fn load(conn: &mut DbConnection, desk: &Desk, ticket: Ticket) -> Result<Self, AppError> {
        let runs = TicketRun::for_ticket(conn, ticket.id)?
            .into_iter()
            .map(|r| r.run_id)
            .collect();
        let assignee = match ticket.assignee_id {
            Some(id) => User::find(conn, id)?.map(|u| u.email),
            None => None,
        };
        let escalations = TicketEscalation::for_ticket(conn, ticket.id)?;
        let (id, number) = (ticket.id, ticket.number());
        let files = Attachment::for_ticket(conn, id, false)?;
        let mut json = [TicketJson::build(desk, ticket, runs, assignee, escalations)];
        json[0].attachments = files
            .into_iter()
            .map(|f| AttachmentJson::new(desk, number, f))
            .collect();
        use_signal_runbooks(conn, &mut json)?;
        let [json] = json;
        Ok(json)
    }

    /// Many tickets with a few queries for their runs, assignees and escalations, not a
    /// few per ticket.
    pub fn load_many(
        conn: &mut DbConnection,
        desk: &Desk,
        tickets: Vec<Ticket>,
    ) -> Result<Vec<Self>, AppError> {
        let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
        let mut runs = TicketRun::run_ids_for(conn, &ids)?;
        let assignee_ids: Vec<i64> = tickets.iter().filter_map(|t| t.assignee_id).collect();
        let emails: HashMap<i64, String> = User::emails(conn, &assignee_ids)?;
        let mut escalations = TicketEscalation::for_tickets(conn, &ids)?;
        let mut files = Attachment::for_tickets(conn, &ids)?;
        let mut jsons: Vec<TicketJson> = tickets
            .into_iter()
            .map(|t| {
                let linked = runs.remove(&t.id).unwrap_or_default();
                let assignee = t.assignee_id.and_then(|id| emails.get(&id).cloned());
                let steps = escalations.remove(&t.id).unwrap_or_default();
                let (id, number) = (t.id, t.number());
                let mut json = TicketJson::build(desk, t, linked, assignee, steps);
                json.attachments = files
                    .remove(&id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|f| AttachmentJson::new(desk, number, f))
                    .collect();
                json
            })
            .collect();
        use_signal_runbooks(conn, &mut jsons)?;
        Ok(jsons)
    }
}

/// Incidents a threshold rule opened are worked by their signal's runbook section.
fn use_signal_runbooks(conn: &mut DbConnection, jsons: &mut [TicketJson]) -> Result<(), AppError> {
    let ids: Vec<i64> = jsons
        .iter()
        .filter(|j| j.is_incident)
        .filter_map(|j| TicketNumber::parse(&j.number).ok().map(TicketNumber::id))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    for opened in SignalIncident::for_tickets(conn, &ids)? {
        if let Some(url) = crate::runbooks::for_signal(&opened.signal)
            && let Some(json) = jsons.iter_mut().find(|j| {
                TicketNumber::parse(&j.number).ok().map(TicketNumber::id) == Some(opened.ticket_id)
            })
        {
            json.runbook_url = url.to_string();
        }
    }
    Ok(())
}

pub(super) fn ticket_id(number: &str) -> Result<i64, AppError> {
    TicketNumber::parse(number)
        .ok()
        .map(TicketNumber::id)
        .ok_or(AppError::NotFound)
}

/// One ticket by its number.
#[utoipa::path(get, path = "/api/v1/tickets/{number}",
    params(("number" = String, Path, description = "Ticket number, e.g. INS-1042")),
    responses((status = 200, description = "The ticket", body = TicketJson),
               (status = 404, description = "No such ticket", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])), tag = "tickets")]
pub async fn show(
    desk: web::Data<Desk>,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = ticket_id(&number)?;
    let json = desk
        .db(move |conn, desk| {
            let ticket = Ticket::find(conn, id)?;
            TicketJson::load(conn, desk, ticket)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketPage {
    pub tickets: Vec<TicketJson>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The queue: filters, sort, keyset pagination.
#[utoipa::path(get, path = "/api/v1/tickets",
    params(
        ("status" = Option<String>, Query, description = "open (default), all, or a comma-separated list"),
        ("category" = Option<String>, Query), ("severity" = Option<String>, Query), ("team" = Option<String>, Query),
        ("assignee" = Option<String>, Query, description = "a user id, or none"),
        ("warehouse_type" = Option<String>, Query),
        ("sla" = Option<String>, Query, description = "breached, at_risk, on_track or paused"),
        ("q" = Option<String>, Query, description = "text in the description, table or column, or a ticket number"),
        ("sort" = Option<String>, Query, description = "sla (default), severity or created"),
        ("limit" = Option<i64>, Query, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query)),
    responses((status = 200, description = "A page of tickets", body = TicketPage),
              (status = 422, description = "A bad filter", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])), tag = "tickets")]
pub async fn list(
    desk: web::Data<Desk>,
    raw: web::Query<RawQueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = QueueQuery::parse(&raw, None).map_err(AppError::Invalid)?;
    let page = desk
        .db(move |conn, desk| {
            let page = queue::search(conn, &query, desk.clock.now())?;
            Ok(TicketPage {
                tickets: TicketJson::load_many(conn, desk, page.tickets)?,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The ticket changed since the caller read it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictJson {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub current_version: i32,
    /// What happened after the version you sent.
    pub changes: Vec<EventJson>,
}

/// Change status, category, severity, team or assignee; 409 if someone changed the ticket
/// since the version you send.
#[utoipa::path(patch, path = "/api/v1/tickets/{number}", request_body = TicketPatch,
    params(("number" = String, Path), ("If-Match" = Option<String>, Header, description = "The version you read")),
    responses((status = 200, description = "The changed ticket", body = TicketJson),
              (status = 409, description = "Changed since your version", body = ConflictJson, content_type = "application/problem+json"),
              (status = 422, description = "Not allowed or invalid", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["write"])), tag = "tickets")]
pub async fn patch(
    req: HttpRequest,
    viewer: Viewer,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = ticket_id(&number)?;
    let patch: TicketPatch = super::read_json(&req, payload, desk.max_body_bytes).await?;
    let changes = parse_patch(&patch)?;
    let version = expected_version(&req, patch.version)?;
    let who = viewer.who();
    let outcome = desk
        .db(
            move |conn, desk| match triage::update(conn, desk, &who, id, version, &changes)? {
                Ok(ticket) => Ok(Ok(TicketJson::load(conn, desk, ticket)?)),
                Err(conflict) => Ok(Err(ConflictJson {
                    kind: "https://inspect-desk.dev/problems/conflict".into(),
                    title: "This ticket changed since you read it".into(),
                    status: 409,
                    detail: format!(
                        "you sent version {version}; it is now at version {}",
                        conflict.current.version
                    ),
                    current_version: conflict.current.version,
                    changes: conflict.missed.into_iter().map(EventJson::from).collect(),
                })),
            },
        )
        .await?;
    Ok(match outcome {
        Ok(json) => HttpResponse::Ok()
            .insert_header(("ETag", format!("\"{}\"", json.version)))
            .json(json),
        Err(conflict) => HttpResponse::Conflict()
            .content_type("application/problem+json")
            .json(conflict),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
    /// Public comments are emailed to the reporter; default internal.
    #[serde(default)]
    pub public: bool,
    /// A status to move the ticket to with the comment (`waiting_on_reporter`,
    /// `resolved`, …). With a public comment the reporter gets one email carrying both
    /// the reply and the new status.
    #[serde(default)]
    #[schema(example = "waiting_on_reporter")]
    pub status: Option<String>,
}

/// Comment on a ticket, optionally moving its status in the same change.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/comments", request_body = CommentBody, params(("number" = String, Path)),
    responses((status = 201, description = "Comment added (and the status moved); the ticket", body = TicketJson),
              (status = 422, description = "Empty or too long, or a status the ticket cannot move to", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["write"])), tag = "tickets")]
pub async fn comment(
    req: HttpRequest,
    viewer: Viewer,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = ticket_id(&number)?;
    let comment: CommentBody = super::read_json(&req, payload, desk.max_body_bytes).await?;
    let status = comment
        .status
        .as_deref()
        .map(Status::parse)
        .transpose()
        .map_err(|message| AppError::invalid("status", message))?;
    let who = viewer.who();
    let json = desk
        .db(move |conn, desk| {
            let (body, public) = (&comment.body, comment.public);
            let ticket = ticket_actions::reply(conn, desk, &who, id, body, public, status)?;
            TicketJson::load(conn, desk, ticket)
        })
        .await?;
    Ok(HttpResponse::Created().json(json))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The ticket this one duplicates, e.g. `INS-1001`.
    pub into: String,
}

/// Merge this ticket into another: it closes and its reporter is told once.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/merge", request_body = MergeBody, params(("number" = String, Path)),
    responses((status = 200, description = "The merged (closed) ticket", body = TicketJson),
              (status = 422, description = "Cannot merge", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["write"])), tag = "tickets")]
pub async fn merge(
    req: HttpRequest,
    viewer: Viewer,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = ticket_id(&number)?;
    let merge: MergeBody = super::read_json(&req, payload, desk.max_body_bytes).await?;
    let into = TicketNumber::parse(&merge.into)
        .ok()
        .map(TicketNumber::id)
        .ok_or_else(|| {
            AppError::invalid("into", format!("'{}' is not a ticket number", merge.into))
        })?;
    let who = viewer.who();
    let json = desk
        .db(move |conn, desk| {
            let ticket = ticket_actions::merge(conn, desk, &who, id, into)?;
            TicketJson::load(conn, desk, ticket)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json))
}

/// One timeline event.
#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct EventJson {
    pub kind: String,
    pub actor: String,
    pub detail: String,
    pub public: bool,
    pub at: String,
    /// The ticket's version after this event.
    pub version: i32,
}

impl From<Event> for EventJson {
    fn from(e: Event) -> Self {
        EventJson {
            kind: e.kind.to_string(),
            actor: e.actor,
            detail: e.detail,
            public: e.public,
            at: rfc3339(e.created_at),
            version: e.version,
        }
    }
}

/// Every event on a ticket's timeline, oldest first.
#[utoipa::path(get, path = "/api/v1/tickets/{number}/events", params(("number" = String, Path)),
    responses((status = 200, description = "The timeline", body = Vec<EventJson>),
              (status = 404, description = "No such ticket", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])), tag = "tickets")]
pub async fn events(
    desk: web::Data<Desk>,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = ticket_id(&number)?;
    let events = desk
        .db(move |conn, _| {
            Ticket::find(conn, id)?;
            Ok(Event::for_ticket(conn, id, false)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(events.into_iter().map(EventJson::from).collect::<Vec<_>>()))
}

/// Acknowledge a ticket's escalation: further steps wait until the ticket changes. The
/// person acknowledging (signed in, or the account that created the token) takes the
/// ticket when nobody has it, and a new ticket becomes triaged.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/ack", params(("number" = String, Path)),
    responses((status = 200, description = "Acknowledged; the ticket", body = TicketJson),
              (status = 409, description = "Already acknowledged", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["write"])), tag = "tickets")]
pub async fn ack(
    viewer: Viewer,
    desk: web::Data<Desk>,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    use crate::services::escalation::{self, AckScope};
    let id = ticket_id(&number)?;
    let name = viewer.actor_name();
    let signed_in = viewer.user.as_ref().map(|u| u.id);
    let token = viewer.token.as_ref().map(|t| t.id);
    let outcome = desk
        .db(move |conn, desk| {
            let user_id = match (signed_in, token) {
                (Some(id), _) => Some(id),
                (None, Some(token)) => escalation::token_holder(conn, token)?.map(|u| u.id),
                (None, None) => None,
            };
            let who = Who { name, user_id };
            let outcome =
                escalation::acknowledge_as(conn, desk, id, &who, None, &AckScope::AnyTeam)?;
            Ok((outcome.done, TicketJson::load(conn, desk, outcome.ticket)?))
        })
        .await?;
    match outcome {
        (true, json) => Ok(HttpResponse::Ok().json(json)),
        (false, _) => Err(AppError::Conflict(
            "this ticket's escalation is already acknowledged".into(),
        )
        .into()),
    }
}
