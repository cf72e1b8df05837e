//! `GET /api/v1/incidents`: the open incidents, whether a threshold rule opened them or
//! an agent declared them. `POST /api/v1/incidents/{number}/updates`: a public update
//! to every affected reporter, taken once however often it is sent.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiError;
use crate::clock::rfc3339;
use crate::services::incidents::{self, OpenIncident, PostedUpdate};
use crate::state::Desk;
use crate::web::auth::Viewer;

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentJson {
    /// The incident (parent) ticket, e.g. `INS-1042`.
    pub number: String,
    /// `failure_rate`, `critical_timeout`, `duration_regression` or `report_burst`; null
    /// when an agent declared the incident.
    pub signal: Option<String>,
    /// The threshold rule (config name) that opened it.
    pub rule: Option<String>,
    /// What "the same signal" is: `rule:warehouse_type[:category]`.
    pub signal_key: Option<String>,
    /// What the rule last measured over its threshold.
    pub measurement: Option<String>,
    pub warehouse_type: Option<String>,
    pub status: String,
    pub severity: String,
    pub team: String,
    /// RFC 3339.
    pub opened_at: String,
    /// Tickets attached to the incident.
    pub linked_tickets: Vec<String>,
    /// Run ids linked to the incident (the evidence).
    pub linked_runs: Vec<String>,
    /// The runbook section for its signal.
    pub runbook_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentList {
    pub incidents: Vec<IncidentJson>,
}

impl From<OpenIncident> for IncidentJson {
    fn from(open: OpenIncident) -> Self {
        let signal = open.signal.as_ref().map(|s| s.signal.clone());
        IncidentJson {
            number: open.ticket.number().to_string(),
            runbook_url: signal
                .as_deref()
                .and_then(crate::runbooks::for_signal)
                .map(str::to_string),
            signal,
            rule: open.signal.as_ref().map(|s| s.rule.clone()),
            signal_key: open.signal.as_ref().map(|s| s.signal_key.clone()),
            measurement: open.signal.as_ref().map(|s| s.measurement.clone()),
            warehouse_type: open
                .signal
                .as_ref()
                .map(|s| s.warehouse_type)
                .or(open.ticket.warehouse_type)
                .map(|w| w.to_string()),
            status: open.ticket.status.to_string(),
            severity: open.ticket.severity.to_string(),
            team: open.ticket.team.clone(),
            opened_at: rfc3339(open.opened_at),
            linked_tickets: open.linked_tickets,
            linked_runs: open.linked_runs,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/incidents",
    responses((status = 200, description = "Open incidents, oldest first", body = IncidentList)),
    security(("bearer" = ["read"])), tag = "incidents")]
pub async fn list(desk: web::Data<Desk>) -> Result<HttpResponse, ApiError> {
    let list = desk
        .db(|conn, _| {
            let incidents = incidents::open_incidents(conn, crate::domain::drill::LIVE)?;
            Ok(IncidentList {
                incidents: incidents.into_iter().map(IncidentJson::from).collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// What the reporters read, 1 to 10,000 characters.
    #[schema(min_length = 1, max_length = 10000)]
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentUpdateJson {
    /// The update's id on the incident's timeline.
    pub id: i64,
    /// The incident, e.g. `INS-1042`.
    pub incident: String,
    pub message: String,
    /// RFC 3339: when the update was first posted.
    pub posted_at: String,
    pub posted_by: String,
    /// Reporters this request emailed: 0 when it repeated an update already sent.
    pub reporters_emailed: usize,
}

impl From<PostedUpdate> for IncidentUpdateJson {
    fn from(posted: PostedUpdate) -> Self {
        IncidentUpdateJson {
            id: posted.id,
            incident: posted.incident.to_string(),
            message: posted.message,
            posted_at: rfc3339(posted.posted_at),
            posted_by: posted.posted_by,
            reporters_emailed: posted.reporters,
        }
    }
}

/// Post a public update on an incident: it shows on every attached report's tracking page
/// and reaches each affected reporter once by email. The same message to the same
/// incident within 10 minutes is the same update: 200 with the first, and no email.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/updates", request_body = UpdateBody,
    params(("number" = String, Path, description = "The incident, e.g. INS-1042")),
    responses((status = 201, description = "Posted and emailed", body = IncidentUpdateJson),
              (status = 200, description = "The same update was posted within 10 minutes; nothing was sent again", body = IncidentUpdateJson),
              (status = 404, description = "No such ticket", body = super::problem::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Empty or too long, or the ticket is no incident", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["write"])), tag = "incidents")]
pub async fn post_update(
    req: HttpRequest,
    viewer: Viewer,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = super::tickets::ticket_id(&number)?;
    let update: UpdateBody = super::read_json(&req, payload, desk.max_body_bytes).await?;
    let who = viewer.who();
    let posted = desk
        .db(move |conn, desk| incidents::update(conn, desk, &who, id, &update.message))
        .await?;
    let mut response = if posted.repeated {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    Ok(response.json(IncidentUpdateJson::from(posted)))
}
