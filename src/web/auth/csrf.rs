//! CSRF protection for every state-changing form: the double-submit cookie pattern.
//! A random token lives in an HttpOnly cookie and in a hidden field of each form; a POST
//! whose field does not match its cookie is refused. Another site can make a browser send
//! the cookie but can neither read it nor set it, so it cannot fill in the field.
//! (No maintained actix-web 4 CSRF crate covers forms without JavaScript; this is
//! the whole mechanism in one place.) The JSON API is exempt: it takes bearer tokens,
//! never cookies. `protect` hands every request its token; `check` guards each form route
//! (`web::routes` puts it on every POST outside the API).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use serde::Deserialize;
use std::future::{Ready, ready};

use crate::domain::secret;
use crate::error::AppError;
use crate::state::Desk;
use crate::web::pages::PageError;

pub const COOKIE: &str = "desk_csrf";
pub const FIELD: &str = "csrf_token";
const TOKEN_HEX_LEN: usize = 64;

/// This request's CSRF token, for the hidden field of the forms a page renders.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl FromRequest for CsrfToken {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(req
            .extensions()
            .get::<CsrfToken>()
            .cloned()
            .unwrap_or(CsrfToken(String::new()))))
    }
}

#[derive(Deserialize)]
struct FieldOnly {
    csrf_token: Option<String>,
}

fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_HEX_LEN && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The token a form sent with this request must carry: `None` when the request brought
/// no CSRF cookie, so no form it sends is good.
struct Expected(Option<String>);

/// Middleware: hand every request a token (setting the cookie when new). Forms are
/// checked by `check`, on the routes that take them.
pub async fn protect(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let existing = req
        .cookie(COOKIE)
        .map(|c| c.value().to_string())
        .filter(|t| well_formed(t));
    let token = existing
        .clone()
        .unwrap_or_else(|| secret::random_hex(TOKEN_HEX_LEN / 2));
    let secure = req
        .app_data::<web::Data<Desk>>()
        .is_some_and(|d| d.mail.base_url.starts_with("https://"));
    req.extensions_mut().insert(Expected(existing.clone()));
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.call(req).await?;
    if existing.is_none() {
        let cookie = Cookie::build(COOKIE, token)
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .finish();
        response.response_mut().add_cookie(&cookie)?;
    }
    Ok(response)
}

/// Route middleware for every form a page posts (a POST outside the JSON API): refused
/// unless its field carries the token `protect` expects. A route, not the whole app, so a
/// POST to a path that takes none answers 405, not 403.
pub async fn check(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limit = req
        .app_data::<web::Data<Desk>>()
        .map_or(64 * 1024, |d| d.max_body_bytes);
    let announced = crate::web::body::announced_length(req.headers());
    let body = match crate::web::body::read_limited(announced, req.take_payload(), limit).await {
        Ok(body) => body,
        Err(e) => {
            return Ok(req
                .into_response(PageError(e).error_response())
                .map_into_right_body());
        }
    };
    let sent = serde_urlencoded::from_bytes::<FieldOnly>(&body)
        .ok()
        .and_then(|f| f.csrf_token);
    let expected = req.extensions().get::<Expected>().and_then(|e| e.0.clone());
    let valid = match (&expected, &sent) {
        (Some(expected), Some(field)) => {
            secret::constant_time_eq(expected.as_bytes(), field.as_bytes())
        }
        _ => false,
    };
    if !valid {
        let refusal = PageError(AppError::Forbidden(
            "This form has expired or did not come from this site. Reload the page and send it again.".into(),
        ));
        return Ok(req
            .into_response(refusal.error_response())
            .map_into_right_body());
    }
    req.set_payload(actix_web::dev::Payload::from(body));
    Ok(next.call(req).await?.map_into_left_body())
}
