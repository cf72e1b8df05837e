//! Admin: mail received — what became of each message — and the addresses held after a
//! hard bounce, with a button to send to them again.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::models::inbound_mail::InboundMail;
use crate::db::models::mail_suppression::MailSuppression;
use crate::domain::ticket_number::TicketNumber;
use crate::services::inbound;
use crate::state::Desk;
use crate::web::pages::{Layout, PageContext, PageError, html};
use crate::web::{body, flash};

struct Row {
    received_at: chrono::NaiveDateTime,
    sender: String,
    subject: String,
    what: &'static str,
    detail: String,
    ticket: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/mail.html")]
struct MailPage {
    layout: Layout,
    support_address: String,
    rows: Vec<Row>,
    held: Vec<MailSuppression>,
}

pub async fn list(ctx: PageContext, desk: web::Data<Desk>) -> Result<HttpResponse, PageError> {
    let (received, held) = desk
        .db(|conn, _| {
            Ok((
                InboundMail::recent(conn, 200)?,
                MailSuppression::list(conn)?,
            ))
        })
        .await?;
    let rows = received
        .into_iter()
        .map(|m| Row {
            received_at: m.received_at,
            sender: m.sender,
            subject: m.subject,
            what: m.outcome.0.label(),
            // Replies and reports record their label as the detail: nothing to add.
            detail: if m.detail == m.outcome.0.label() {
                String::new()
            } else {
                m.detail
            },
            ticket: m.ticket_id.map(|id| TicketNumber::of(id).to_string()),
        })
        .collect();
    html(
        StatusCode::OK,
        &MailPage {
            layout: Layout::new("Mail received", &ctx),
            support_address: desk.mail.support_address.clone(),
            rows,
            held,
        },
    )
}

#[derive(Deserialize)]
pub struct HoldForm {
    address: String,
}

/// Send to a held address again.
pub async fn clear_hold(
    ctx: PageContext,
    desk: web::Data<Desk>,
    form: body::Form<HoldForm>,
) -> Result<HttpResponse, PageError> {
    let address = form.into_inner().address;
    let shown = address.trim().to_lowercase();
    let who = ctx.viewer.who();
    let cleared = desk
        .db(move |conn, desk| inbound::clear_hold(conn, desk, &who, None, &address))
        .await?;
    Ok(flash::see_other_with(
        "/admin/mail",
        crate::web::pages::ticket_mail::hold_cleared(cleared, &shown),
    ))
}
