//! `GET /api/v1/incidents`: the open incidents, whether a threshold rule opened them or
//! an agent declared them.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiError;
use crate::clock::rfc3339;
use crate::services::incidents::{self, OpenIncident};
use crate::state::Desk;

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
