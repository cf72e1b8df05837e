//! Reports from programs: `POST /api/v1/reports`, the form's fields as JSON.

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::ApiError;
use super::tickets::TicketJson;
use crate::domain::report::{RawReport, Report};
use crate::domain::role::Scope;
use crate::domain::submission::{Requester, Submission};
use crate::error::AppError;
use crate::services::intake::{self, Submitted};
use crate::state::Desk;
use crate::web::auth::Viewer;
use crate::web::auth::client::client_ip;
use crate::web::auth::limits::Limits;
use crate::web::body;

/// File a report. An `Idempotency-Key` header makes a retried request (the same body from
/// the same requester) return the ticket the first one created (200) instead of a second
/// ticket; the key sent with another body or by another requester is refused (422). Anonymous requests are limited
/// per address; a bearer token of scope `write` is not (a service filing for many analysts
/// from one address), and an unknown or revoked token is refused.
#[utoipa::path(
    post,
    path = "/api/v1/reports",
    request_body = RawReport,
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 200 characters. A repeat with the same body from the same requester (the token; without one, the reporter email and client address) returns the first ticket; with another body or requester it is refused (422, idempotency-key-reused)")),
    responses(
        (status = 201, description = "Ticket created", body = TicketJson),
        (status = 200, description = "Repeated Idempotency-Key with the same body and requester: the existing ticket", body = TicketJson),
        (status = 400, description = "Malformed JSON", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "An unknown or revoked bearer token (send none to report anonymously)", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many anonymous reports from this address", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (problem type `validation`, each field named in `errors`), or an Idempotency-Key already used with another body or by another requester (problem type `idempotency-key-reused`; nothing is stored and nothing of the first ticket is shown)", body = super::problem::Problem, content_type = "application/problem+json",
            examples(
                ("validation" = (summary = "Invalid fields", value = json!({"type": "https://inspect-desk.dev/problems/validation", "title": "Invalid input", "status": 422, "detail": "reporter_email: Please give your email.", "errors": {"reporter_email": "Please give your email."}}))),
                ("idempotency-key-reused" = (summary = "Idempotency-Key reused", value = json!({"type": "https://inspect-desk.dev/problems/idempotency-key-reused", "title": "Idempotency key reused", "status": 422, "detail": "This Idempotency-Key was already used by another requester or with another body. Nothing was stored; send this report with a new key."}))),
            )),
    ),
    tag = "reports"
)]
pub async fn create(
    req: HttpRequest,
    viewer: Viewer,
    desk: web::Data<Desk>,
    limits: web::Data<Limits>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // A wrong token is a mistake to report, not a reason to file anonymously.
    if viewer.bad_token {
        return Ok(unknown_token());
    }
    // Anonymous analysts may file reports; a flood from one address may not. A program
    // with a write token is trusted with its own pace (one address, many analysts).
    let writes = viewer
        .token
        .as_ref()
        .is_some_and(|t| t.scopes.contains(&Scope::Write));
    if !writes && !limits.reports.allow(client_ip(&req)) {
        return Err(AppError::TooManyRequests.into());
    }
    let body = body::read_limited(
        body::announced_length(req.headers()),
        payload,
        desk.max_body_bytes,
    )
    .await?;
    let raw: RawReport = super::decode_json(&req, &body)?;
    let report = Report::parse(&raw).map_err(AppError::Invalid)?;
    // The key is bound to who sends it (the token, else the reporter and the client's
    // address) and to what they send.
    let requester = match &viewer.token {
        Some(token) => Requester::Token(token.id),
        None => Requester::Anonymous {
            reporter_email: report.reporter_email.to_string(),
            client: client_ip(&req),
        },
    };
    let submission = idempotency_key(&req)?.map(|key| Submission::new(key, &requester, &raw));
    let (created, json) = desk
        .db(move |conn, desk| {
            let submitted = intake::submit(conn, desk, report, submission)?;
            desk.after_ingest.reports_filed(&submitted.touched());
            match submitted {
                // Everything the answer shows of a new ticket is at hand: no reads again.
                Submitted::Created {
                    ticket,
                    linked_runs,
                } => Ok((
                    true,
                    TicketJson::build(desk, ticket, linked_runs, None, Vec::new()),
                )),
                Submitted::Duplicate(ticket) => Ok((false, TicketJson::load(conn, desk, ticket)?)),
            }
        })
        .await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response
        .insert_header(("Location", format!("/api/v1/tickets/{}", json.number)))
        .json(json))
}

/// 401 for a bearer token that is unknown or revoked, as the scoped routes answer it.
fn unknown_token() -> HttpResponse {
    let mut response = ApiError(AppError::Unauthorized(
        "this bearer token is unknown or revoked; send a valid one, or none to report anonymously"
            .into(),
    ))
    .error_response();
    response.headers_mut().insert(
        actix_web::http::header::WWW_AUTHENTICATE,
        actix_web::http::header::HeaderValue::from_static("Bearer"),
    );
    response
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            AppError::BadRequest("Idempotency-Key must be 1 to 200 visible ASCII characters".into())
        })?;
    // Namespaced so an API key can never collide with a form's submission key.
    Ok(Some(format!("api:{key}")))
}
