//! Error pages with the real status code.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use askama::Template;

use super::Layout;
use crate::error::AppError;

/// An error met while serving a page; renders as HTML.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct PageError(#[from] pub AppError);

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    heading: &'static str,
    detail: String,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let status = self.status_code();
        let (heading, detail) = match &self.0 {
            AppError::NotFound => (
                "Not found",
                "There is nothing at this address. Check the link you were given.".to_string(),
            ),
            AppError::BadRequest(message) => ("That request could not be read", message.clone()),
            AppError::TooLarge { limit } => (
                "That was too much to send",
                format!(
                    "Requests are limited to {} KiB. Shorten the description and try again.",
                    limit / 1024
                ),
            ),
            AppError::UnsupportedMediaType(message) => {
                ("That request could not be read", message.clone())
            }
            AppError::Conflict(message) => ("That changed meanwhile", message.clone()),
            AppError::SubmissionKeyReused => (
                "That form was already sent",
                "It was sent before with other details or from elsewhere; nothing was saved \
                 this time. Open the form again to file a new report."
                    .to_string(),
            ),
            AppError::MethodNotAllowed(message) => {
                ("This address does not take that request", message.clone())
            }
            AppError::Unauthorized(message) => ("Sign in first", message.clone()),
            AppError::Forbidden(message) => ("Not allowed", message.clone()),
            AppError::TooManyRequests => (
                "Slow down",
                "Too many requests from your address; wait a minute and try again.".to_string(),
            ),
            AppError::Invalid(fields) if !fields.is_empty() => (
                "Some fields need another look",
                fields.values().cloned().collect::<Vec<_>>().join(" "),
            ),
            AppError::Invalid(_) => (
                "Some fields need another look",
                "Go back and check the form.".to_string(),
            ),
            AppError::Unavailable(_) => (
                "The desk is briefly unavailable",
                "Please try again in a minute; nothing you sent was lost or half-saved."
                    .to_string(),
            ),
            AppError::Internal(_) => (
                "Something went wrong on our side",
                "The problem has been logged. Please try again.".to_string(),
            ),
        };
        let page = ErrorPage {
            layout: Layout::bare(heading),
            status: status.as_u16(),
            heading,
            detail,
        };
        match page.render() {
            Ok(body) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(body),
            Err(e) => {
                tracing::error!(error = %e, "error page failed to render");
                HttpResponse::build(status)
                    .content_type("text/plain; charset=utf-8")
                    .body(heading)
            }
        }
    }
}

/// Shorthand for handlers: `?` on anything that converts into `AppError`.
impl From<diesel::result::Error> for PageError {
    fn from(err: diesel::result::Error) -> Self {
        PageError(err.into())
    }
}

impl From<r2d2::Error> for PageError {
    fn from(err: r2d2::Error) -> Self {
        PageError(err.into())
    }
}

impl From<actix_web::error::BlockingError> for PageError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        PageError(err.into())
    }
}
