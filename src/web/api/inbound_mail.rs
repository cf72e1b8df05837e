//! `POST /api/v1/inbound-mail`: one raw message (`message/rfc822`), for inbound-mail
//! webhooks and for an MTA on another host. The same service as `inspect-desk mail
//! receive` and the IMAP poller.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiError;
use crate::services::inbound;
use crate::state::Desk;
use crate::web::body;

/// What became of the message.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundResult {
    /// `new_report`, `reporter_reply`, `agent_reply`, `unverified`, `auto_reply`, `bounce`,
    /// `unmatched_bounce`, `throttled` or `unmatched`.
    pub outcome: &'static str,
    /// The outcome in words.
    pub label: &'static str,
    /// The ticket it landed on or opened ("INS-1042"), if any.
    pub ticket: Option<String>,
    /// The same message was taken before; this copy changed nothing.
    pub repeat: bool,
}

/// Take one email message. 201 when it was taken now (including messages deliberately
/// ignored, such as auto-replies: `outcome` says what happened), 200 for a message taken
/// before (same Message-ID), 400 when the body is not a message at all. On 503 nothing
/// was stored: send it again later.
#[utoipa::path(
    post,
    path = "/api/v1/inbound-mail",
    request_body(content = String, content_type = "message/rfc822", description = "One RFC 5322 message, as received"),
    responses(
        (status = 201, description = "Taken", body = InboundResult),
        (status = 200, description = "Taken before; nothing changed", body = InboundResult),
        (status = 400, description = "Not an email message", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the attachment limits allow", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not message/rfc822", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable; nothing was stored", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "mail"
)]
pub async fn receive(
    req: HttpRequest,
    desk: web::Data<Desk>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    super::require_content_type(&req, &["message/rfc822"])?;
    let raw = body::read_limited(
        body::announced_length(req.headers()),
        payload,
        largest_message(&desk),
    )
    .await?;
    let receipt = desk
        .db(move |conn, desk| inbound::receive(conn, desk, &raw))
        .await?;
    let mut response = if receipt.repeat {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    Ok(response.json(InboundResult {
        outcome: receipt.outcome.as_str(),
        label: receipt.outcome.label(),
        ticket: receipt.ticket,
        repeat: receipt.repeat,
    }))
}

/// The largest message taken: the attachment limit as base64 grows it, plus the text.
pub fn largest_message(desk: &Desk) -> usize {
    let files = desk.attachment_limits.max_total_bytes as usize;
    files / 3 * 4 + files / 20 + 1024 * 1024
}
