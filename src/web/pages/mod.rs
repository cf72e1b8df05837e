//! Server-rendered pages, one module per surface.

pub mod account;
pub mod admin;
pub mod error;
pub mod escalations;
pub mod login;
pub mod queue;
pub mod report;
pub mod runbooks;
pub mod runs;
pub mod telemetry;
pub mod ticket;
pub mod tracking;

use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use std::future::{Ready, ready};

pub use error::PageError;

use crate::domain::local_path::{LocalPath, NotLocal};
use crate::error::AppError;
use crate::web::auth::{CsrfToken, Viewer};

/// Analysts come to report; the form is the front door.
pub async fn home() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", "/report"))
        .finish()
}

/// Who is looking and the token their forms must carry.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub viewer: Viewer,
    pub csrf: String,
}

impl FromRequest for PageContext {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let extensions = req.extensions();
        ready(Ok(PageContext {
            viewer: extensions.get::<Viewer>().cloned().unwrap_or_default(),
            csrf: extensions
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
        }))
    }
}

/// What the base layout needs.
pub struct Layout {
    pub title: String,
    pub css: String,
    pub csrf: String,
    pub user_email: Option<String>,
    pub is_admin: bool,
    pub is_agent: bool,
    pub is_owner: bool,
}

impl Layout {
    pub fn new(title: impl Into<String>, ctx: &PageContext) -> Self {
        let user = ctx.viewer.user.as_ref();
        Layout {
            title: title.into(),
            css: super::assets::asset_url("css/desk.css"),
            csrf: ctx.csrf.clone(),
            user_email: user.map(|u| u.email.clone()),
            is_admin: ctx.viewer.has_role(crate::domain::role::Role::Admin),
            is_agent: ctx.viewer.has_role(crate::domain::role::Role::Agent),
            is_owner: ctx.viewer.has_role(crate::domain::role::Role::Owner),
        }
    }

    /// For pages rendered without a request context (error pages).
    pub fn bare(title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            css: super::assets::asset_url("css/desk.css"),
            csrf: String::new(),
            user_email: None,
            is_admin: false,
            is_agent: false,
            is_owner: false,
        }
    }
}

/// Render an askama template into an HTML response with the given status.
pub fn html(
    status: actix_web::http::StatusCode,
    page: &impl askama::Template,
) -> Result<HttpResponse, PageError> {
    let body = page.render().map_err(crate::error::AppError::from)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// A redirect target taken from a request, read by `LocalPath::parse` (the one rule for
/// every such target): a path on this site, `None` for one that leads elsewhere (the
/// caller goes to its default page instead), and 400 for control characters, which no
/// page of the desk writes.
pub fn redirect_target(target: &str) -> Result<Option<LocalPath>, AppError> {
    match LocalPath::parse(target) {
        Ok(path) => Ok(Some(path)),
        Err(NotLocal::Elsewhere) => Ok(None),
        Err(NotLocal::ControlCharacter) => Err(AppError::BadRequest(
            "The address to go to next holds control characters; nothing was done.".into(),
        )),
    }
}

/// 303 to another page.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish()
}
