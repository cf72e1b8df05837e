//! Cross-cutting response behaviour: security headers and request logging.

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, Next};

use crate::telemetry::metrics;

/// Headers on every response. The CSP allows no inline script or style; tracking links
/// carry a secret token, so no Referer leaves the desk. Nothing the desk answers may be
/// kept by a browser or a proxy (pages show tracking links, new API tokens, tickets and
/// reporters' emails), except what says otherwise: the versioned static files.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        // Added only where the handler set no Cache-Control of its own.
        .add(("Cache-Control", "no-store"))
}

/// Log and count every request by its route pattern, never its path: tracking paths carry
/// secret tokens. A server error (5xx) is logged at ERROR whatever answered it: a handler,
/// or a middleware's error (a session store that cannot be read), so none goes unseen.
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().clone();
    // Matched against the route table now: a middleware's error comes back without the
    // request it failed on.
    let route = req.request().match_pattern();
    let pattern = route.as_deref().unwrap_or("unmatched");
    let result = next.call(req).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let elapsed = started.elapsed();
    if status.is_server_error() {
        tracing::error!(%method, route = pattern, status = status.as_u16(),
            micros = elapsed.as_micros() as u64, "request answered with a server error");
    } else {
        tracing::debug!(%method, route = pattern, status = status.as_u16(),
            micros = elapsed.as_micros() as u64, "request");
    }
    metrics::http_request(method.as_str(), pattern, status.as_u16(), elapsed);
    result
}
