//! A ticket's files as agents open them from the ticket page, and as the reporter opens
//! theirs from the tracking page (`web::attachments::download` answers both).

use actix_web::{HttpResponse, web};

use super::PageError;
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::attachments;
use crate::state::Desk;
use crate::web::attachments::download;

/// `/tickets/{number}/attachments/{id}`: any file of the ticket, for signed-in agents.
pub async fn for_agents(
    desk: web::Data<Desk>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (number, id) = path.into_inner();
    let ticket = TicketNumber::parse(&number)
        .ok()
        .map(TicketNumber::id)
        .ok_or(AppError::NotFound)?;
    let id = file_id(&id)?;
    let (file, bytes) = desk
        .db(move |conn, _| attachments::for_agents(conn, ticket, id))
        .await?;
    Ok(download(&file, bytes))
}

/// `/t/{token}/attachments/{id}`: a public file of the reporter's ticket.
pub async fn for_reporter(
    desk: web::Data<Desk>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (token, id) = path.into_inner();
    // Tokens are 40 hex characters; anything else cannot match, so skip the query.
    if token.len() != 40 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound.into());
    }
    let id = file_id(&id)?;
    let (file, bytes) = desk
        .db(move |conn, _| attachments::for_reporter(conn, &token, id))
        .await?;
    Ok(download(&file, bytes))
}

/// A file's id from its address; anything but a positive number is no file.
pub fn file_id(id: &str) -> Result<i64, AppError> {
    id.parse()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound)
}
