//! CSRF protection for every state-changing form, without JavaScript: a signed token,
//! tied to the session, in a hidden field of each form.
//!
//! A browser holds a random secret in an HttpOnly cookie; a signed-in session holds a
//! random binding in its server-side state. A form's token is the HMAC of both under the
//! desk's signing key, so it is good only in the browser and the session it was made for:
//! a token of another session, or one planted with a cookie from a sibling site, is
//! refused; another site can make a browser send the cookie but can read neither the page
//! nor the cookie, so it cannot fill in the field. Signing in and out draws a new secret
//! (and signing in a new binding), so no token from before serves after. Behind https the
//! cookie is `__Host-desk_csrf`: Secure, the whole site, and no sibling domain can set it.
//! (No maintained actix-web 4 CSRF crate covers forms without JavaScript; this is the
//! whole mechanism in one place.) The JSON API is exempt: it takes bearer tokens, never
//! cookies. `protect` hands every request its token; `check` guards each form route
//! (`web::routes` puts it on every POST outside the API), and `check_with_files` the few
//! that may carry files, whose multipart body it reads to find the token.

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use serde::Deserialize;
use std::future::{Ready, ready};

use super::session_store::USER_ID;
use crate::domain::attachment::Limits;
use crate::domain::secret;
use crate::error::AppError;
use crate::state::Desk;
use crate::web::attachments::{is_multipart, read_multipart};
use crate::web::pages::PageError;

/// The cookie holding the browser's secret; `HOST_COOKIE` behind https.
pub const COOKIE: &str = "desk_csrf";
pub const HOST_COOKIE: &str = "__Host-desk_csrf";
pub const FIELD: &str = "csrf_token";
/// Session state key holding the session's binding.
const BINDING: &str = "csrf_binding";
const SECRET_HEX_LEN: usize = 64;

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

fn well_formed(secret: &str) -> bool {
    secret.len() == SECRET_HEX_LEN && secret.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The cookie's name: with the `__Host-` prefix when the desk is served over https.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { HOST_COOKIE } else { COOKIE }
}

/// The token forms carry for this browser secret and session binding.
fn form_token(key: &[u8], browser: &str, binding: Option<&str>) -> String {
    secret::sign(
        key,
        &format!("csrf\n{browser}\n{}", binding.unwrap_or_default()),
    )
}

/// The token a form sent with this request must carry: `None` when the request brought
/// no CSRF cookie, so no form it sends is good.
struct Expected(Option<String>);

/// Set by `start_session` and `end_session`: the browser gets a new secret with the
/// response.
struct Rotate;

/// At sign-in, after the session key is renewed: a new binding for the session and a new
/// secret for the browser, so tokens from before sign-in are worthless.
pub fn start_session(req: &HttpRequest, session: &Session) -> Result<(), AppError> {
    session
        .insert(BINDING, secret::random_hex(SECRET_HEX_LEN / 2))
        .map_err(AppError::internal)?;
    req.extensions_mut().insert(Rotate);
    Ok(())
}

/// At sign-out: a new secret for the browser, so the session's tokens are worthless.
pub fn end_session(req: &HttpRequest) {
    req.extensions_mut().insert(Rotate);
}

/// The session's binding; a signed-in session from before bindings is given one now.
fn session_binding(session: &Session) -> Option<String> {
    if let Ok(Some(binding)) = session.get::<String>(BINDING) {
        return Some(binding);
    }
    session.get::<i64>(USER_ID).ok().flatten()?;
    let binding = secret::random_hex(SECRET_HEX_LEN / 2);
    session.insert(BINDING, &binding).ok()?;
    Some(binding)
}

/// Middleware: hand every request its token, setting the cookie when the browser has no
/// secret yet or a new one is due (sign-in, sign-out). Forms are checked by `check`, on
/// the routes that take them.
pub async fn protect(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let desk = req
        .app_data::<web::Data<Desk>>()
        .cloned()
        .expect("desk state is registered");
    let secure = desk.mail.base_url.starts_with("https://");
    let name = cookie_name(secure);
    let browser = req
        .cookie(name)
        .map(|c| c.value().to_string())
        .filter(|t| well_formed(t));
    let binding = session_binding(&req.get_session());
    let fresh = browser
        .is_none()
        .then(|| secret::random_hex(SECRET_HEX_LEN / 2));
    let key = desk.signing_key.as_slice();
    let expected = browser
        .as_deref()
        .map(|b| form_token(key, b, binding.as_deref()));
    let handed = browser.as_deref().or(fresh.as_deref()).unwrap_or_default();
    req.extensions_mut()
        .insert(CsrfToken(form_token(key, handed, binding.as_deref())));
    req.extensions_mut().insert(Expected(expected));
    let mut response = next.call(req).await?;
    let rotate = response.request().extensions().contains::<Rotate>();
    let new_secret = if rotate {
        Some(secret::random_hex(SECRET_HEX_LEN / 2))
    } else {
        fresh
    };
    if let Some(value) = new_secret {
        let cookie = Cookie::build(name, value)
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
/// POST to a path that takes none answers 405, not 403. The body is read within the
/// desk's form limit, so only urlencoded forms carry a token here: a multipart body on a
/// route that takes no files is refused like a form without one.
pub async fn check<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    checked(req, next, false).await
}

/// `check` for the forms that may carry files (`web::routes::FILE_FORMS`): a
/// `multipart/form-data` body is read here, as it streams in and within the attachment
/// limits, its token checked like any form's, and handed to the handler as the
/// `FilesForm` it reads.
pub async fn check_with_files<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    checked(req, next, true).await
}

async fn checked<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
    files: bool,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let (limit, attachment_limits) = req
        .app_data::<web::Data<Desk>>()
        .map_or((64 * 1024, Limits::default()), |d| {
            (d.max_body_bytes, d.attachment_limits)
        });
    let refuse = |req: ServiceRequest, error: AppError| {
        Ok(req
            .into_response(PageError(error).error_response())
            .map_into_right_body())
    };
    if files && is_multipart(req.headers()) {
        let headers = req.headers().clone();
        let read = read_multipart(&headers, req.take_payload(), &attachment_limits, limit);
        let form = match read.await {
            Ok(form) => form,
            Err(e) => return refuse(req, e),
        };
        if !token_matches(&req, form.text(FIELD)) {
            return refuse(req, forged());
        }
        req.extensions_mut().insert(form);
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let announced = crate::web::body::announced_length(req.headers());
    let body = match crate::web::body::read_limited(announced, req.take_payload(), limit).await {
        Ok(body) => body,
        Err(e) => return refuse(req, e),
    };
    let sent = serde_urlencoded::from_bytes::<FieldOnly>(&body)
        .ok()
        .and_then(|f| f.csrf_token);
    if !token_matches(&req, sent.as_deref()) {
        return refuse(req, forged());
    }
    req.set_payload(actix_web::dev::Payload::from(body));
    Ok(next.call(req).await?.map_into_left_body())
}

/// Whether `sent` is the token this request's browser and session call for.
fn token_matches(req: &ServiceRequest, sent: Option<&str>) -> bool {
    let expected = req.extensions().get::<Expected>().and_then(|e| e.0.clone());
    match (&expected, sent) {
        (Some(expected), Some(field)) => {
            secret::constant_time_eq(expected.as_bytes(), field.as_bytes())
        }
        _ => false,
    }
}

fn forged() -> AppError {
    AppError::Forbidden(
        "This form has expired or did not come from this site. Reload the page and send it again."
            .into(),
    )
}
