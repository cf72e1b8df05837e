//! A ticket's received mail on the agent's ticket page: the original message to download,
//! an unverified sender's message to publish as a reply, a bounced address to clear.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{PageContext, PageError};
use crate::db::models::inbound_mail::InboundMail;
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::inbound;
use crate::state::Desk;
use crate::web::{body, flash};

fn ticket_id(number: &str) -> Result<i64, PageError> {
    TicketNumber::parse(number)
        .map(TicketNumber::id)
        .map_err(|_| PageError(AppError::NotFound))
}

/// The message as it arrived, to open in a mail client: never shown by the browser.
pub async fn original(
    desk: web::Data<Desk>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, PageError> {
    let (number, mail_id) = path.into_inner();
    let id = ticket_id(&number)?;
    let (_, raw) = desk
        .db(move |conn, _| Ok(InboundMail::with_raw(conn, id, mail_id)?))
        .await?
        .ok_or(PageError(AppError::NotFound))?;
    let filename = format!("{}-email-{mail_id}.eml", TicketNumber::of(id));
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "message/rfc822"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(raw))
}

/// Publish an unverified sender's message as a reply to the reporter.
pub async fn publish(
    ctx: PageContext,
    desk: web::Data<Desk>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, PageError> {
    let (number, mail_id) = path.into_inner();
    let id = ticket_id(&number)?;
    let who = ctx.viewer.who();
    let location = format!("/tickets/{}", TicketNumber::of(id));
    let done = desk
        .db(move |conn, desk| inbound::publish(conn, desk, &who, id, mail_id))
        .await;
    match done {
        Ok(ticket) => Ok(flash::see_other_with(
            &location,
            format!(
                "The email was published as a reply on {}; the reporter was emailed.",
                ticket.number()
            ),
        )),
        Err(AppError::Conflict(message)) => Ok(flash::see_other_with(&location, message)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct HoldForm {
    address: String,
}

/// Let mail go to an address that bounced again.
pub async fn clear_hold(
    ctx: PageContext,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    form: body::Form<HoldForm>,
) -> Result<HttpResponse, PageError> {
    let id = ticket_id(&number)?;
    let address = form.into_inner().address;
    let who = ctx.viewer.who();
    let shown = address.trim().to_lowercase();
    let cleared = desk
        .db(move |conn, desk| inbound::clear_hold(conn, desk, &who, Some(id), &address))
        .await?;
    Ok(flash::see_other_with(
        &format!("/tickets/{}", TicketNumber::of(id)),
        hold_cleared(cleared, &shown),
    ))
}

/// The confirmation after sending to a held address again.
pub fn hold_cleared(cleared: bool, address: &str) -> String {
    if cleared {
        format!("Email to {address} will go out again.")
    } else {
        format!("Email to {address} was not held; nothing changed.")
    }
}
