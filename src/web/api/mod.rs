//! The JSON API under `/api/v1`. Errors are RFC 9457 problem documents.

pub mod attachments;
pub mod inbound_mail;
pub mod incidents;
pub mod lineage;
pub mod openapi;
pub mod problem;
pub mod reports;
pub mod runs;
pub mod ticket_patch;
pub mod tickets;

pub use problem::ApiError;

/// Decode a JSON body read with a limit: syntax errors (including invalid UTF-8) are 400,
/// well-formed JSON of the wrong shape is 422.
pub fn decode_json<T: serde::de::DeserializeOwned>(
    req: &actix_web::HttpRequest,
    body: &[u8],
) -> Result<T, ApiError> {
    require_content_type(req, &["application/json"])?;
    serde_json::from_slice(body).map_err(json_error)
}

/// Read a JSON body within the desk's size limit (413 as a problem document, like every
/// other API error) and decode it.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    req: &actix_web::HttpRequest,
    payload: actix_web::web::Payload,
    limit: usize,
) -> Result<T, ApiError> {
    require_content_type(req, &["application/json"])?;
    let body = crate::web::body::read_limited(
        crate::web::body::announced_length(req.headers()),
        payload,
        limit,
    )
    .await?;
    decode_json(req, &body)
}

pub fn json_error(e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let detail = format!("request body: {e}");
    match e.classify() {
        Category::Data => ApiError::from(crate::error::AppError::invalid("body", detail)),
        _ => crate::error::AppError::BadRequest(detail).into(),
    }
}

/// 415 unless the request's media type is one of `accepted`.
pub fn require_content_type(
    req: &actix_web::HttpRequest,
    accepted: &[&str],
) -> Result<(), ApiError> {
    let media = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if accepted.contains(&media.as_str()) {
        return Ok(());
    }
    Err(crate::error::AppError::UnsupportedMediaType(format!(
        "Content-Type must be {} (got '{}')",
        accepted.join(" or "),
        if media.is_empty() { "none" } else { &media }
    ))
    .into())
}
