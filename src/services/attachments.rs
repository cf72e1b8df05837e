//! Files on a ticket: stored with limits checked before anything is written, the content
//! type sniffed from the bytes and a digest kept, in the caller's transaction; added on
//! their own (the API); and handed out to those who may see them.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::db::models::attachment::{Attachment, NewAttachment};
use crate::db::models::event::Event;
use crate::db::models::ticket::Ticket;
use crate::db::{DbConnection, write_transaction};
use crate::domain::attachment::{self, Limits, Upload};
use crate::domain::event::EventKind;
use crate::error::AppError;
use crate::services::ticket_changes::{TicketChangeset, Who, touch};
use crate::state::Desk;

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

/// Files added to a ticket without a message (the API's upload): one "Files attached"
/// entry on the timeline, and the files with it, in one transaction. `public` files are
/// shown to the reporter on the tracking page; nobody is emailed.
pub fn attach(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    ticket_id: i64,
    files: &[Upload],
    public: bool,
) -> Result<(Ticket, Vec<Attachment>), AppError> {
    if files.is_empty() {
        return Err(AppError::invalid(
            "attachments",
            "Attach at least one file.",
        ));
    }
    check(&desk.attachment_limits, files)?;
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let ticket = Ticket::find(conn, ticket_id)?;
        let names: Vec<String> = files
            .iter()
            .map(|f| attachment::clean_filename(&f.filename))
            .collect();
        let note = (EventKind::FilesAttached, names.join(", "), public);
        let saved = touch(conn, &ticket, who, &[note], TicketChangeset::default(), now)?;
        let event = Event::newest_of_kind(conn, ticket_id, EventKind::FilesAttached)?;
        let stored = store(conn, ticket_id, event, files, public, &who.name, now)?;
        Ok((saved, stored))
    })
}

/// A file of ticket `ticket_id` with its bytes, for agents and API tokens; any other
/// ticket's file is not found.
pub fn for_agents(
    conn: &mut DbConnection,
    ticket_id: i64,
    id: i64,
) -> Result<(Attachment, Vec<u8>), AppError> {
    Attachment::with_content(conn, ticket_id, id)?.ok_or(AppError::NotFound)
}

/// A file with its bytes for the holder of tracking link `token`: a public file of their
/// ticket, or of the ticket it was merged into from the merge on (what the tracking page
/// shows). Anything else, and an unknown or replaced link, is not found.
pub fn for_reporter(
    conn: &mut DbConnection,
    token: &str,
    id: i64,
) -> Result<(Attachment, Vec<u8>), AppError> {
    let ticket = Ticket::find_by_token(conn, token)?;
    let found = match Attachment::with_content(conn, ticket.id, id)? {
        Some(file) => Some(file),
        None => match ticket.merged_into {
            Some(target) => {
                let since = merged_at(conn, &ticket)?;
                Attachment::with_content(conn, target, id)?
                    .filter(|(file, _)| file.created_at >= since)
            }
            None => None,
        },
    };
    found
        .filter(|(file, _)| file.public)
        .ok_or(AppError::NotFound)
}

/// When a merged ticket was merged: its reporter follows the other ticket from then on.
pub fn merged_at(conn: &mut DbConnection, ticket: &Ticket) -> Result<NaiveDateTime, AppError> {
    let events = Event::for_ticket(conn, ticket.id, true)?;
    Ok(events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::Merged)
        .map_or(ticket.updated_at, |e| e.created_at))
}
