//! Admin: the email outbox — pending, failed and dead-lettered messages, with retry.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::models::outbox::OutboxMessage;
use crate::domain::outbox::OutboxStatus;
use crate::error::AppError;
use crate::state::Desk;
use crate::web::pages::{Layout, PageContext, PageError, html, see_other};

struct MessageRow {
    id: i64,
    template: String,
    subject: String,
    status: OutboxStatus,
    attempts: i32,
    next_attempt_at: chrono::NaiveDateTime,
    last_error: String,
    retryable: bool,
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    layout: Layout,
    counts: Vec<(String, i64)>,
    messages: Vec<MessageRow>,
}

impl OutboxPage {
    fn status_label(&self, status: &str) -> String {
        OutboxStatus::parse(status).map_or_else(|_| status.to_string(), |s| s.label().to_string())
    }
}

pub async fn list(ctx: PageContext, desk: web::Data<Desk>) -> Result<HttpResponse, PageError> {
    let (counts, rows) = desk
        .db(|conn, _| {
            Ok((
                OutboxMessage::counts_by_status(conn)?,
                OutboxMessage::recent(conn, 200)?,
            ))
        })
        .await?;
    let messages = rows
        .into_iter()
        .map(|m| MessageRow {
            retryable: !matches!(m.status, OutboxStatus::Pending | OutboxStatus::Sent),
            id: m.id,
            template: m.template,
            subject: m.subject,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_error: m.last_error.unwrap_or_default(),
        })
        .collect();
    html(
        StatusCode::OK,
        &OutboxPage {
            layout: Layout::new("Outbox", &ctx),
            counts,
            messages,
        },
    )
}

/// Put a failed or dead-lettered message back in the queue, due now.
pub async fn retry(desk: web::Data<Desk>, id: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    desk.db(
        move |conn, desk| match OutboxMessage::requeue(conn, id, desk.clock.now())? {
            true => Ok(()),
            false => Err(AppError::NotFound),
        },
    )
    .await?;
    Ok(see_other("/admin/outbox"))
}
