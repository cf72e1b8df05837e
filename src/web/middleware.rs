//! Cross-cutting response behaviour: security headers and request logging.

use actix_web::middleware::DefaultHeaders;

/// Headers on every response. The CSP allows no inline script or style; tracking links
/// carry a secret token, so no Referer leaves the desk.
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
}
