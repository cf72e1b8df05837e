//! Error pages with the real status code, and a top bar that shows whoever is signed in
//! as signed in.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpResponse, ResponseError, http::StatusCode};
use askama::Template;

use super::{Layout, PageContext};
use crate::error::AppError;
use crate::web::auth::Viewer;

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
        self.page(Layout::bare)
    }
}

impl PageError {
    /// The error's page, its layout made by `layout` from the page's title.
    fn page(&self, layout: impl FnOnce(&'static str) -> Layout) -> HttpResponse {
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
            layout: layout(heading),
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

/// Middleware: an error page answered to someone signed in is drawn again with their top
/// bar (who they are, their pages, sign out), so a mistake never looks like being signed
/// out. Errors answered to anyone else, and answers that are not error pages, pass as
/// they are.
pub async fn signed_in_error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let signed_in = req
        .extensions()
        .get::<Viewer>()
        .is_some_and(|v| v.user.is_some());
    if !signed_in {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    // Read now: the request is routed (and cannot be cloned) once passed on.
    let ctx = PageContext::from_request(req.request(), &mut Payload::None).await?;
    match next.call(req).await {
        Ok(response) => {
            let Some(page) = response
                .response()
                .error()
                .and_then(|e| e.as_error::<PageError>())
                .map(|e| e.page(|heading| Layout::new(heading, &ctx)))
            else {
                return Ok(response.map_into_boxed_body());
            };
            let (request, _) = response.into_parts();
            Ok(ServiceResponse::new(request, page))
        }
        Err(error) => match error.as_error::<PageError>() {
            Some(page_error) => {
                let page = page_error.page(|heading| Layout::new(heading, &ctx));
                Err(InternalError::from_response(page_error.to_string(), page).into())
            }
            None => Err(error),
        },
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
