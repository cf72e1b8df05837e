//! RFC 9457 problem documents for the JSON API.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::error::AppError;

/// An error met while serving the JSON API.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub AppError);

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For validation problems: field name → message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let status = self.status_code();
        let (kind, title, detail, errors) = match &self.0 {
            AppError::NotFound => (
                "not-found",
                "Not found",
                "No such resource.".to_string(),
                None,
            ),
            AppError::Invalid(fields) => (
                "validation",
                "Invalid input",
                fields
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join("; "),
                Some(
                    fields
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect(),
                ),
            ),
            AppError::BadRequest(m) => ("bad-request", "Malformed request", m.clone(), None),
            AppError::TooLarge { limit } => (
                "too-large",
                "Request body too large",
                format!("request bodies are limited to {limit} bytes"),
                None,
            ),
            AppError::Conflict(m) => ("conflict", "Conflict", m.clone(), None),
            AppError::SubmissionKeyReused => (
                "idempotency-key-reused",
                "Idempotency key reused",
                "This Idempotency-Key was already used by another requester or with another \
                 body. Nothing was stored; send this report with a new key."
                    .to_string(),
                None,
            ),
            AppError::MethodNotAllowed(m) => {
                ("method-not-allowed", "Method not allowed", m.clone(), None)
            }
            AppError::Unauthorized(m) => {
                ("unauthorized", "Authentication required", m.clone(), None)
            }
            AppError::Forbidden(m) => ("forbidden", "Forbidden", m.clone(), None),
            AppError::TooManyRequests => (
                "rate-limited",
                "Too many requests",
                "Too many requests from your address; retry in a minute.".to_string(),
                None,
            ),
            AppError::UnsupportedMediaType(m) => (
                "unsupported-media-type",
                "Unsupported media type",
                m.clone(),
                None,
            ),
            AppError::Unavailable(_) => (
                "unavailable",
                "Service unavailable",
                "The database is unavailable; retry shortly.".to_string(),
                None,
            ),
            AppError::Internal(_) => (
                "internal",
                "Internal error",
                "The error has been logged.".to_string(),
                None,
            ),
        };
        let problem = Problem {
            kind: format!("https://inspect-desk.dev/problems/{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            errors,
        };
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header(("Retry-After", "5"));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.insert_header(("Retry-After", "60"));
        }
        response
            .content_type("application/problem+json")
            .json(problem)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        ApiError(err.into())
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(err: r2d2::Error) -> Self {
        ApiError(err.into())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        ApiError(err.into())
    }
}
