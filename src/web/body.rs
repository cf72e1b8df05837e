//! Reading request bodies with a size limit and strict text decoding, so every bad body
//! gets its own clear message.

use actix_web::web;
use futures_util::StreamExt;

use crate::error::AppError;

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
