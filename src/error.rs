//! One boundary error: every failure a request can meet, with its HTTP status.
//! Pages render it as HTML, the JSON API as an RFC 9457 problem document.

use actix_web::http::StatusCode;

use crate::db::{DbError, DbErrorKind};
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
    /// A known address asked with a method it does not take; the message names those it
    /// takes.
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("too many requests")]
    TooManyRequests,
    #[error("{0}")]
    Conflict(String),
    /// A submission key sent again by someone else or with another report
    /// (`domain::submission`): nothing is stored and nothing of its ticket is told.
    #[error("the submission key was already used for another report")]
    SubmissionKeyReused,
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
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::SubmissionKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
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

    /// Whether a database write was refused as a duplicate (a unique constraint): on
    /// PostgreSQL, often a race another writer won.
    pub fn is_db_conflict(&self) -> bool {
        matches!(self, AppError::Internal(e)
            if e.downcast_ref::<DbError>().is_some_and(|e| e.kind() == DbErrorKind::Conflict))
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        DbError::from(err).into()
    }
}

impl From<DbError> for AppError {
    fn from(err: DbError) -> Self {
        match err.kind() {
            DbErrorKind::NotFound => AppError::NotFound,
            // PostgreSQL cannot store NUL in text (SQLite can): the request's fault,
            // whichever field or query parameter carried it.
            DbErrorKind::InvalidText => {
                AppError::BadRequest("text may not contain NUL (\\u0000) characters".into())
            }
            DbErrorKind::Busy | DbErrorKind::Unavailable => AppError::Unavailable(err.into()),
            // A duplicate the caller did not expect is a fault of the desk's; callers that
            // expect one (a race another writer won) ask `is_db_conflict`.
            DbErrorKind::Conflict | DbErrorKind::Other => AppError::Internal(err.into()),
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

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error as E};

    use super::AppError;

    fn from_database(kind: DatabaseErrorKind, message: &str) -> AppError {
        E::DatabaseError(kind, Box::new(message.to_string())).into()
    }

    /// Each kind of database error answers with its status; only a unique violation
    /// reads as a conflict.
    #[test]
    fn database_errors_map_to_statuses() {
        use DatabaseErrorKind::{ClosedConnection, UniqueViolation, Unknown};
        let cases = [
            (AppError::from(E::NotFound), 404, false),
            (from_database(Unknown, "database is locked"), 503, false),
            (
                from_database(
                    ClosedConnection,
                    "server closed the connection unexpectedly",
                ),
                503,
                false,
            ),
            (
                from_database(Unknown, "invalid byte sequence for encoding \"UTF8\": 0x00"),
                400,
                false,
            ),
            (
                from_database(UniqueViolation, "UNIQUE constraint failed: t.id"),
                500,
                true,
            ),
            (from_database(Unknown, "no such table: t"), 500, false),
        ];
        for (error, status, conflict) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(error.is_db_conflict(), conflict, "{error:?}");
        }
    }
}
