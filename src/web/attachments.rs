//! Files over HTTP: forms and API calls that carry them (`multipart/form-data`, read as
//! it streams in, never more than the attachment limits allow), files as pages show them,
//! and the one way a stored file is answered.

use actix_multipart::Multipart;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use crate::db::models::attachment::Attachment;
use crate::domain::attachment::{self, Limits, Upload};
use crate::error::AppError;
use crate::web::body;

/// Parts beyond the files a form may send (its text fields). The parser holds one part's
/// headers at a time, so with the parts counted a body cannot grow without limit on them.
const MAX_TEXT_PARTS: usize = 64;

/// A form as sent, with or without files: its text fields in order, its files, and,
/// when the files outgrew the limits so the body was not read to its end, why.
#[derive(Debug, Clone, Default)]
pub struct FilesForm {
    pub fields: Vec<(String, String)>,
    pub files: Vec<Upload>,
    /// The total limit's message when reading stopped there: the files are not all here
    /// and must not be stored.
    pub too_much: Option<String>,
}

impl FilesForm {
    /// The first value of text field `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    /// The text fields as a typed form, read exactly as the same fields sent urlencoded
    /// are read (numbers, optional and repeated fields alike).
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, AppError> {
        let unreadable =
            |e: String| AppError::BadRequest(format!("The form could not be read: {e}"));
        let encoded =
            serde_urlencoded::to_string(&self.fields).map_err(|e| unreadable(e.to_string()))?;
        serde_urlencoded::from_str(&encoded).map_err(|e| unreadable(e.to_string()))
    }

    /// The files, or the message the file field shows when they cannot be taken: the
    /// body outgrew the limits, or `limits` refuse them. Nothing is stored either way.
    pub fn checked_files(&self, limits: &Limits) -> Result<Vec<Upload>, String> {
        if let Some(message) = &self.too_much {
            return Err(message.clone());
        }
        limits.check(&self.files)?;
        Ok(self.files.clone())
    }

    /// Whether files came with the form: a form shown again cannot keep them, so it asks
    /// for them again.
    pub fn had_files(&self) -> bool {
        !self.files.is_empty() || self.too_much.is_some()
    }
}

/// Whether a request carries `multipart/form-data`.
pub fn is_multipart(headers: &header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("multipart/form-data")
        })
}

/// Read a `multipart/form-data` body as it streams in: text fields up to `text_limit`
/// bytes together, files under the field name `attachments` (other file fields are
/// read past). Once the files come to more than `limits` allow in total, reading stops
/// and the form says so (`too_much`): the rest of the body is never read, let alone
/// kept. A body that is no multipart at all, or text that is not UTF-8, is a bad request;
/// more text than `text_limit`, or more parts than any form sends, is too large.
pub async fn read_multipart<S>(
    headers: &header::HeaderMap,
    payload: S,
    limits: &Limits,
    text_limit: usize,
) -> Result<FilesForm, AppError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>> + 'static,
{
    let max_files = limits.max_files as usize;
    let max_total = usize::try_from(limits.max_total_bytes).unwrap_or(usize::MAX);
    let unreadable = |e: actix_multipart::MultipartError| {
        AppError::BadRequest(format!("The form could not be read: {e}"))
    };
    let mut parts = Multipart::new(headers, payload);
    let mut form = FilesForm::default();
    let (mut text_bytes, mut file_bytes, mut count) = (0usize, 0usize, 0usize);
    while let Some(part) = parts.next().await {
        let mut part = part.map_err(unreadable)?;
        count += 1;
        // One file over the limit is still read, so the message can count them.
        if count > max_files + 1 + MAX_TEXT_PARTS {
            return Err(AppError::TooLarge { limit: text_limit });
        }
        let disposition = part.content_disposition().cloned();
        let name = part.name().unwrap_or_default().to_string();
        let filename = disposition.as_ref().and_then(|d| {
            d.get_filename().map(str::to_string).or_else(|| {
                d.get_filename_ext()
                    .map(|v| String::from_utf8_lossy(&v.value).into_owned())
            })
        });
        match filename {
            Some(filename) => {
                let mut bytes = Vec::new();
                while let Some(chunk) = part.next().await {
                    let chunk = chunk.map_err(unreadable)?;
                    file_bytes += chunk.len();
                    if file_bytes > max_total {
                        form.too_much = Some(limits.too_much());
                        return Ok(form);
                    }
                    if name == "attachments" {
                        bytes.extend_from_slice(&chunk);
                    }
                }
                // A file field left empty sends a part with no name and no bytes.
                if name == "attachments" && !(filename.is_empty() && bytes.is_empty()) {
                    form.files.push(Upload { filename, bytes });
                }
            }
            None => {
                let room = text_limit.saturating_sub(text_bytes);
                let value = match part.bytes(room).await {
                    Ok(read) => read.map_err(unreadable)?,
                    Err(_) => return Err(AppError::TooLarge { limit: text_limit }),
                };
                text_bytes += value.len();
                let value = String::from_utf8(value.to_vec()).map_err(|_| {
                    AppError::BadRequest(
                        "The form contained text that is not valid UTF-8. Please retype it and \
                         send again."
                            .into(),
                    )
                })?;
                form.fields.push((name, value));
            }
        }
    }
    Ok(form)
}

/// A form handler's fields and files: read by the CSRF check when they came as
/// `multipart/form-data` (`web::auth::csrf`), else read here from an urlencoded body
/// within the desk's form limit.
impl FromRequest for FilesForm {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        if let Some(form) = req.extensions_mut().remove::<FilesForm>() {
            return Box::pin(std::future::ready(Ok(form)));
        }
        // An urlencoded body is read as every other form is.
        let fields = body::Form::<Vec<(String, String)>>::from_request(req, payload);
        Box::pin(async move {
            let body::Form(fields) = fields.await?;
            Ok(FilesForm {
                fields,
                ..FilesForm::default()
            })
        })
    }
}

/// A stored file as a page shows it: a thumbnail for the image types browsers show
/// inline, else a link with its name and size.
#[derive(Debug, Clone, PartialEq)]
pub struct FileView {
    pub filename: String,
    pub size: String,
    pub url: String,
    pub thumbnail: bool,
}

impl FileView {
    /// `file`, opened at `prefix`/attachments/{id} (the ticket page's or the tracking
    /// link's address).
    pub fn new(prefix: &str, file: &Attachment) -> FileView {
        FileView {
            filename: file.filename.clone(),
            size: attachment::size_label(file.size.max(0) as u64),
            url: format!("{prefix}/attachments/{}", file.id),
            thumbnail: attachment::shows_inline(&file.content_type),
        }
    }
}

/// A stored file as the desk answers it to whoever may see it: its sniffed type, never
/// sniffed again by the browser, sandboxed like a page from nowhere, and downloaded
/// unless it is one of the image types the pages show inline (so SVG and HTML never run
/// on the desk's origin). Browsers may keep it privately; the bytes of an id never change.
pub fn download(file: &Attachment, bytes: Vec<u8>) -> HttpResponse {
    let disposition = if attachment::shows_inline(&file.content_type) {
        DispositionType::Inline
    } else {
        DispositionType::Attachment
    };
    // Old clients read the plain `filename`; the rest the UTF-8 `filename*` (RFC 6266).
    let fallback: String = file
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '_'
            }
        })
        .collect();
    let content_disposition = ContentDisposition {
        disposition,
        parameters: vec![
            DispositionParam::Filename(fallback),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: file.filename.as_bytes().to_vec(),
            }),
        ],
    };
    // `sniff` calls text only what is UTF-8.
    let content_type = if file.content_type == "text/plain" {
        "text/plain; charset=utf-8"
    } else {
        file.content_type.as_str()
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header(content_disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"))
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400"))
        .body(bytes)
}
