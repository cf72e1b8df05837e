//! One boundary error: every failure a request can meet, with its HTTP status.
//! Pages render it as HTML, the JSON API as an RFC 9457 problem document.

use actix_web::http::StatusCode;

use crate::domain::report::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("too many requests")]
    TooManyRequests,
    #[error("{0}")]
    Conflict(String),
    #[error("the database is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Log the cause chain once, at the boundary, for errors the user cannot fix.
    pub fn log(&self) {
        match self {
            AppError::Unavailable(e) => {
                tracing::warn!(error = format!("{e:#}"), "database unavailable")
            }
            AppError::Internal(e) => tracing::error!(error = format!("{e:#}"), "request failed"),
            _ => {}
        }
    }

    /// One bad field and what is wrong with it.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid(std::iter::once((field, message.into())).collect())
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(err.into())
    }

    /// An internal error from a message (stored data that no longer parses, say).
    pub fn internal_msg(message: String) -> Self {
        AppError::Internal(anyhow::anyhow!(message))
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::Error as E;
        match err {
            E::NotFound => AppError::NotFound,
            E::DatabaseError(..) | E::BrokenTransactionManager => {
                let text = err.to_string();
                // PostgreSQL cannot store NUL in text (SQLite can): the request's fault,
                // whichever field or query parameter carried it.
                if text.contains("invalid byte sequence for encoding") {
                    return AppError::BadRequest(
                        "text may not contain NUL (\\u0000) characters".into(),
                    );
                }
                // A dropped server shows up as a database error on a pooled connection.
                if text.contains("connection")
                    || text.contains("server closed")
                    || text.contains("database is locked")
                {
                    AppError::Unavailable(err.into())
                } else {
                    AppError::Internal(err.into())
                }
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(err: r2d2::Error) -> Self {
        AppError::Unavailable(err.into())
    }
}

impl From<askama::Error> for AppError {
    fn from(err: askama::Error) -> Self {
        AppError::Internal(err.into())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task failed: {err}"))
    }
}
