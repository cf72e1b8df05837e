//! Server-rendered pages, one module per surface.

pub mod error;
pub mod report;
pub mod tracking;

use actix_web::{HttpResponse, web};

pub use error::PageError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .configure(report::routes)
        .configure(tracking::routes);
}

/// Analysts come to report; the form is the front door.
async fn home() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", "/report"))
        .finish()
}

/// What the base layout needs.
pub struct Layout {
    pub title: String,
    pub css: String,
}

impl Layout {
    pub fn new(title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            css: super::assets::asset_url("css/desk.css"),
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
