//! A ticket's files through the API: added with a multipart upload, listed in the
//! ticket's JSON, fetched one by one.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiError;
use super::tickets::ticket_id;
use crate::db::models::attachment::Attachment;
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::{attachments, ticket_actions};
use crate::state::Desk;
use crate::web::attachments::{download, read_multipart};
use crate::web::auth::Viewer;
use crate::web::pages::attachments::file_id;

/// A file on a ticket.
#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct AttachmentJson {
    pub id: i64,
    pub filename: String,
    /// Sniffed from the bytes when stored, whatever the sender claimed.
    pub content_type: String,
    /// In bytes.
    pub size: i64,
    /// Where to fetch it with a `read` token.
    pub url: String,
}

impl AttachmentJson {
    pub fn new(desk: &Desk, number: TicketNumber, file: Attachment) -> Self {
        AttachmentJson {
            url: format!(
                "{}/api/v1/tickets/{number}/attachments/{}",
                desk.mail.base_url, file.id
            ),
            id: file.id,
            filename: file.filename,
            content_type: file.content_type,
            size: file.size,
        }
    }
}

/// The upload's form fields, as the OpenAPI document shows them.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// One or more files (repeat the field).
    #[schema(format = Binary, value_type = Vec<String>)]
    attachments: Vec<Vec<u8>>,
    /// Text to go with the files: a comment (emailed to the reporter when public, its
    /// files as links). Without it the files are added on their own, emailed to nobody.
    comment: Option<String>,
    /// `true`: the reporter sees the files (and the comment). Default `false`: internal.
    public: Option<bool>,
}

/// Add files to a ticket (`multipart/form-data`): with a `comment`, as that comment's
/// files (public ones linked from the reporter's email); without, on their own. Files are
/// internal unless `public` is `true`. The limits (files, size of each, total) are
/// checked before anything is stored; over one, 422 naming it and nothing stored.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/attachments", params(("number" = String, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "The stored files", body = Vec<AttachmentJson>),
              (status = 400, description = "A body that cannot be read as multipart/form-data", body = super::problem::Problem, content_type = "application/problem+json"),
              (status = 415, description = "Not multipart/form-data", body = super::problem::Problem, content_type = "application/problem+json"),
              (status = 422, description = "No file, a limit exceeded, a bad comment or `public` value", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["write"])), tag = "tickets")]
pub async fn upload(
    req: HttpRequest,
    viewer: Viewer,
    desk: web::Data<Desk>,
    number: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = ticket_id(&number)?;
    super::require_content_type(&req, &["multipart/form-data"])?;
    let limits = desk.attachment_limits;
    let form = read_multipart(req.headers(), payload, &limits, desk.max_body_bytes).await?;
    if let Some(message) = form.too_much {
        return Err(AppError::invalid("attachments", message).into());
    }
    let public = match form.text("public").map(str::trim) {
        None | Some("" | "false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(AppError::invalid(
                "public",
                format!("public is true or false, not '{other}'"),
            )
            .into());
        }
    };
    if form.files.is_empty() {
        return Err(AppError::invalid("attachments", "Attach at least one file.").into());
    }
    let comment = form
        .text("comment")
        .filter(|c| !c.trim().is_empty())
        .map(str::to_string);
    let (who, files) = (viewer.who(), form.files);
    let stored = desk
        .db(move |conn, desk| {
            let (ticket, stored) = match comment {
                Some(body) => ticket_actions::reply_with_files(
                    conn, desk, &who, id, &body, public, None, &files,
                )?,
                None => attachments::attach(conn, desk, &who, id, &files, public)?,
            };
            let number = ticket.number();
            Ok(stored
                .into_iter()
                .map(|f| AttachmentJson::new(desk, number, f))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Created().json(stored))
}

/// One file of a ticket, as stored: its sniffed type, downloaded (images the pages show
/// inline: inline).
#[utoipa::path(get, path = "/api/v1/tickets/{number}/attachments/{id}",
    params(("number" = String, Path), ("id" = i64, Path, description = "The file's id")),
    responses((status = 200, description = "The file's bytes, typed as sniffed when it was stored", content_type = "*/*"),
              (status = 404, description = "No such file on this ticket", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])), tag = "tickets")]
pub async fn show(
    desk: web::Data<Desk>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (number, id) = path.into_inner();
    let ticket = ticket_id(&number)?;
    let id = file_id(&id)?;
    let (file, bytes) = desk
        .db(move |conn, _| attachments::for_agents(conn, ticket, id))
        .await?;
    Ok(download(&file, bytes))
}
