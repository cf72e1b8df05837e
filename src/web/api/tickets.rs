//! Tickets as JSON: `GET /api/v1/tickets/{number}`.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiError;
use crate::clock::rfc3339;
use crate::db::DbConnection;
use crate::db::models::ticket::Ticket;
use crate::db::models::ticket_run::TicketRun;
use crate::error::AppError;
use crate::state::Desk;

/// A ticket as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
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
    /// Name of the routing rule that matched, or `fallback`.
    pub routing_rule: String,
    pub routing_reason: String,
    /// Run ids linked to the ticket.
    pub linked_runs: Vec<String>,
    /// RFC 3339, UTC.
    pub first_response_due: String,
    /// RFC 3339, UTC.
    pub resolution_due: String,
    pub created_at: String,
    pub kind: String,
    pub warehouse_type: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    pub impact: Option<String>,
    pub version: i32,
}

impl TicketJson {
    pub fn load(conn: &mut DbConnection, desk: &Desk, ticket: Ticket) -> Result<Self, AppError> {
        let linked_runs = TicketRun::for_ticket(conn, ticket.id)?
            .into_iter()
            .map(|r| r.run_id)
            .collect();
        Ok(TicketJson {
            number: ticket.number(),
            tracking_url: desk.mail.tracking_url(&ticket.tracking_token),
            reasons: ticket.classification_reasons(),
            severity_reasons: ticket.severity_reasons(),
            linked_runs,
            first_response_due: rfc3339(ticket.first_response_due),
            resolution_due: rfc3339(ticket.resolution_due),
            created_at: rfc3339(ticket.created_at),
            status: ticket.status,
            category: ticket.category,
            confidence: ticket.confidence,
            severity: ticket.severity,
            team: ticket.team,
            routing_rule: ticket.routing_rule,
            routing_reason: ticket.routing_reason,
            kind: ticket.kind,
            warehouse_type: ticket.warehouse_type,
            table: ticket.table_name,
            column: ticket.column_name,
            impact: ticket.impact,
            version: ticket.version,
        })
    }
}

/// One ticket by its number.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}",
    params(("number" = String, Path, description = "Ticket number, e.g. INS-1042")),
    responses(
        (status = 200, description = "The ticket", body = TicketJson),
        (status = 404, description = "No such ticket", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    tag = "tickets"
)]
pub async fn show(
    desk: web::Data<Desk>,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = Ticket::parse_number(&number).ok_or(AppError::NotFound)?;
    let json = web::block(move || -> Result<TicketJson, AppError> {
        let mut conn = desk.pool.get()?;
        let ticket = Ticket::find(&mut conn, id)?;
        TicketJson::load(&mut conn, &desk, ticket)
    })
    .await??;
    Ok(HttpResponse::Ok().json(json))
}
