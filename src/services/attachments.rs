//! Storing files on a ticket: limits checked before anything is written, the content type
//! sniffed from the bytes, a digest kept, all in the caller's transaction.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::db::DbConnection;
use crate::db::models::attachment::{Attachment, NewAttachment};
use crate::domain::attachment::{self, Limits, Upload};
use crate::error::AppError;

/// Check `files` against `limits`: a clear message on the `attachments` field, nothing
/// stored. Callers check before they write anything else.
pub fn check(limits: &Limits, files: &[Upload]) -> Result<(), AppError> {
    limits
        .check(files)
        .map_err(|message| AppError::invalid("attachments", message))
}

/// Store `files` on ticket `ticket_id`, with the timeline entry they came with. Run inside
/// the transaction that writes that entry, after `check`.
pub fn store(
    conn: &mut DbConnection,
    ticket_id: i64,
    event_id: Option<i64>,
    files: &[Upload],
    public: bool,
    added_by: &str,
    now: NaiveDateTime,
) -> Result<Vec<Attachment>, AppError> {
    let mut stored = Vec::with_capacity(files.len());
    for file in files {
        let filename = attachment::clean_filename(&file.filename);
        let digest = Sha256::digest(&file.bytes);
        let sha256: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        stored.push(Attachment::insert(
            conn,
            &NewAttachment {
                ticket_id,
                event_id,
                filename: &filename,
                content_type: attachment::sniff(&file.bytes),
                size: file.bytes.len() as i64,
                sha256: &sha256,
                public,
                added_by,
                created_at: now,
                content: &file.bytes,
            },
        )?);
    }
    Ok(stored)
}
