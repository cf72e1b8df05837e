//! Per-route access rules, checked on the server before any handler runs.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError};

use super::Viewer;
use crate::domain::role::{Role, Scope};
use crate::error::AppError;
use crate::web::api::ApiError;
use crate::web::pages::PageError;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in account.
    SignedIn,
    /// Accounts with at least this role.
    Role(Role),
    /// API callers whose bearer token carries this scope.
    Scope(Scope),
}

impl Access {
    /// Is `viewer` let through?
    pub fn allows(self, viewer: &Viewer) -> bool {
        match self {
            Access::Public => true,
            Access::SignedIn => viewer.user.is_some(),
            Access::Role(role) => viewer.has_role(role),
            Access::Scope(scope) => viewer
                .token
                .as_ref()
                .is_some_and(|t| t.scopes.contains(&scope)),
        }
    }
}

/// Paths a user who must change their password may still use.
const PASSWORD_CHANGE_PATHS: [&str; 2] = ["/account/password", "/logout"];

/// Middleware for one route: pass, or answer 401/403 (pages send anonymous readers to the
/// sign-in page instead).
pub async fn check(
    access: Access,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let viewer = req
        .extensions()
        .get::<Viewer>()
        .cloned()
        .unwrap_or_default();
    if let Some(user) = &viewer.user
        && user.must_change_password
        && access != Access::Public
        && !PASSWORD_CHANGE_PATHS.contains(&req.path())
    {
        let response = HttpResponse::SeeOther()
            .insert_header(("Location", "/account/password"))
            .finish();
        return Ok(req.into_response(response));
    }
    if access.allows(&viewer) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let response = match access {
        Access::Scope(_) => {
            let error = if viewer.token.is_some() {
                ApiError(AppError::Forbidden(
                    "this token lacks the scope this endpoint needs".into(),
                ))
            } else {
                ApiError(AppError::Unauthorized(
                    "send a bearer token: Authorization: Bearer <token>".into(),
                ))
            };
            let mut response = error.error_response();
            if viewer.token.is_none() {
                response.headers_mut().insert(
                    actix_web::http::header::WWW_AUTHENTICATE,
                    actix_web::http::header::HeaderValue::from_static("Bearer"),
                );
            }
            response
        }
        // As an error, so the page drawn for it shows them signed in
        // (`pages::error::signed_in_error_pages`).
        _ if viewer.user.is_some() => {
            return Err(PageError(AppError::Forbidden(
                "Your account's role does not allow this page.".into(),
            ))
            .into());
        }
        _ if req.method() == Method::GET || req.method() == Method::HEAD => {
            let next_path = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let location = format!(
                "/login?next={}",
                percent_encoding::utf8_percent_encode(
                    next_path,
                    percent_encoding::NON_ALPHANUMERIC
                )
            );
            HttpResponse::SeeOther()
                .insert_header(("Location", location))
                .finish()
        }
        _ => PageError(AppError::Unauthorized("Sign in first.".into())).error_response(),
    };
    Ok(req.into_response(response))
}
