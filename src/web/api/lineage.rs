//! `POST /api/v1/lineage`: OpenLineage RunEvents, exactly as the OpenLineage clients' HTTP
//! transport sends them (one JSON event a request, optionally gzip-encoded).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiError;
use crate::domain::lineage::LineageEvent;
use crate::error::AppError;
use crate::services::lineage::{self, Outcome};
use crate::services::runs::Stored;
use crate::state::Desk;
use crate::web::body;

/// A schema facet of a wide table is larger than a report; 4 MiB holds thousands of
/// columns.
const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// What the event did to its run.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineageResult {
    pub run_id: String,
    /// `created`, `updated`, or `pending` while no event of the run has named its table.
    pub stored: &'static str,
    /// The run's status after this event; absent while pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
}

/// Receive one OpenLineage RunEvent (`START`, `RUNNING`, `COMPLETE`, `FAIL`, `ABORT`, or
/// `OTHER` for metadata). Events of a run may come repeated and in any order; the run
/// record converges to the same result. See README "OpenLineage" for the mapping and the
/// `inspect_semanticTypes` facet.
#[utoipa::path(
    post,
    path = "/api/v1/lineage",
    request_body(content = Object, content_type = "application/json", description = "An OpenLineage RunEvent (spec 2-0-2)"),
    responses(
        (status = 201, description = "The run record was created", body = LineageResult),
        (status = 200, description = "The run record was updated", body = LineageResult),
        (status = 202, description = "Kept; no event of this run has named its table yet", body = LineageResult),
        (status = 400, description = "Malformed JSON", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or wrong (named by its path)", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "runs"
)]
pub async fn ingest(
    req: HttpRequest,
    desk: web::Data<Desk>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    super::require_content_type(&req, &["application/json"])?;
    // The client's `compression: gzip` option sends Content-Encoding: gzip.
    let decoded = actix_web::dev::Decompress::from_headers(payload, req.headers());
    let body = body::read_limited(
        body::announced_length(req.headers()),
        decoded,
        MAX_EVENT_BYTES,
    )
    .await?;
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(super::json_error)?;
    let event = LineageEvent::parse(&value, desk.clock.now()).map_err(AppError::Invalid)?;
    let run_id = event.run_id.clone();
    let outcome = desk
        .db(move |conn, desk| {
            let (outcome, record) = lineage::ingest(conn, &event, desk.clock.now())?;
            if let Some(record) = record {
                desk.after_ingest.runs_stored(&[record]);
            }
            Ok(outcome)
        })
        .await?;
    let (mut response, stored, status) = match outcome {
        Outcome::Stored(Stored::Created, s) => (HttpResponse::Created(), "created", Some(s)),
        Outcome::Stored(Stored::Updated, s) => (HttpResponse::Ok(), "updated", Some(s)),
        Outcome::Pending => (HttpResponse::Accepted(), "pending", None),
    };
    Ok(response.json(LineageResult {
        run_id,
        stored,
        status: status.map(|s| s.as_str()),
    }))
}
