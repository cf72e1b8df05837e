//! The confirmation a page shows after a form's redirect ("Assigned INS-1042 to Dana"):
//! the POST answers 303 with the message in a short-lived cookie, the page it leads to
//! shows it once at the top, and the cookie goes with that page's answer. A refresh shows
//! the page without it and repeats nothing. The cookie holds only the message the desk
//! wrote; the page escapes it like any text.

use actix_web::HttpResponse;
use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_TYPE, HeaderValue, SET_COOKIE};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

pub const COOKIE: &str = "desk_flash";

/// Longest message carried; a longer one is cut.
const MAX_CHARS: usize = 600;

/// The message carried to this request, if any (read by `PageContext`).
#[derive(Debug, Clone)]
pub struct Flash(pub String);

/// 303 to `location`, showing `message` at the top of the page it leads to.
pub fn see_other_with(location: &str, message: impl AsRef<str>) -> HttpResponse {
    let text: String = message.as_ref().chars().take(MAX_CHARS).collect();
    let cookie = Cookie::build(
        COOKIE,
        utf8_percent_encode(&text, NON_ALPHANUMERIC).to_string(),
    )
    .path("/")
    .http_only(true)
    .same_site(SameSite::Lax)
    .max_age(Duration::seconds(60))
    .finish();
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .cookie(cookie)
        .finish()
}

/// Middleware: hand the request its flash message, and drop the cookie once an HTML page
/// (which shows it) has answered.
pub async fn carry(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let message = req
        .cookie(COOKIE)
        .map(|c| {
            percent_decode_str(c.value())
                .decode_utf8_lossy()
                .into_owned()
        })
        .filter(|m| !m.trim().is_empty());
    let carried = message.is_some();
    if let Some(message) = message {
        req.extensions_mut().insert(Flash(message));
    }
    let mut response = next.call(req).await?;
    let shown = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if carried && shown {
        let gone = Cookie::build(COOKIE, "")
            .path("/")
            .max_age(Duration::ZERO)
            .finish();
        if let Ok(value) = HeaderValue::from_str(&gone.to_string()) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    Ok(response)
}
