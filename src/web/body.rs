//! Reading request bodies with a size limit and strict text decoding, so every bad body
//! gets its own clear message.

use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;

use crate::error::AppError;
use crate::state::Desk;
use crate::web::pages::PageError;

/// The length a client announced, if any.
pub fn announced_length(headers: &actix_web::http::header::HeaderMap) -> Option<usize> {
    headers
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Read the whole body, refusing more than `limit` bytes (before reading, when the
/// client announced its length).
pub async fn read_limited<S>(
    announced: Option<usize>,
    mut payload: S,
    limit: usize,
) -> Result<web::Bytes, AppError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    if announced.is_some_and(|n| n > limit) {
        return Err(AppError::TooLarge { limit });
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| AppError::BadRequest(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Check that every key and value of an `application/x-www-form-urlencoded` body decodes
/// to UTF-8: serde_urlencoded silently replaces bad bytes, and we would rather say so.
pub fn check_form_utf8(body: &[u8]) -> Result<(), AppError> {
    for pair in body.split(|b| *b == b'&') {
        let plus_as_space: Vec<u8> = pair
            .iter()
            .map(|b| if *b == b'+' { b' ' } else { *b })
            .collect();
        if percent_encoding::percent_decode(&plus_as_space)
            .decode_utf8()
            .is_err()
        {
            return Err(AppError::BadRequest(
                "The form contained text that is not valid UTF-8. Please retype it and send again."
                    .into(),
            ));
        }
    }
    Ok(())
}

/// A form, read like `web::Form` except that text which is not UTF-8 is refused (400)
/// instead of being stored with replacement characters.
pub struct Form<T>(pub T);

impl<T> Form<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Form<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<Desk>>()
            .map_or(64 * 1024, |d| d.max_body_bytes);
        let announced = announced_length(req.headers());
        let is_form = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let payload = payload.take();
        Box::pin(async move {
            let unreadable = |why: String| {
                PageError(AppError::BadRequest(format!(
                    "The form could not be read: {why}"
                )))
            };
            if !is_form {
                return Err(unreadable("Content type error".into()).into());
            }
            let body = read_limited(announced, payload, limit)
                .await
                .map_err(PageError)?;
            check_form_utf8(&body).map_err(PageError)?;
            serde_urlencoded::from_bytes(&body)
                .map(Form)
                .map_err(|e| unreadable(e.to_string()).into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_forms_pass_and_bad_bytes_are_named() {
        assert!(check_form_utf8(b"a=caf%C3%A9&b=x+y").is_ok());
        assert!(check_form_utf8(b"a=%FF%FE").is_err());
        assert!(check_form_utf8(&[b'a', b'=', 0xff]).is_err());
    }
}
