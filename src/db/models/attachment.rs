//! `attachments`: files on a ticket, bytes included.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::attachments;

/// A file as pages and the API list it: everything but its bytes.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    pub id: i64,
    pub ticket_id: i64,
    pub event_id: Option<i64>,
    pub filename: String,
    /// Sniffed from the bytes when stored.
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    /// Shown to the reporter (false on internal notes and unverified mail).
    pub public: bool,
    pub added_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = attachments)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewAttachment<'a> {
    pub ticket_id: i64,
    pub event_id: Option<i64>,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub public: bool,
    pub added_by: &'a str,
    pub created_at: NaiveDateTime,
    pub content: &'a [u8],
}

impl Attachment {
    pub fn insert(conn: &mut DbConnection, new: &NewAttachment<'_>) -> QueryResult<Attachment> {
        // Only the id comes back: RETURNING a whole selectable does not go through the
        // multi-backend connection.
        let id = diesel::insert_into(attachments::table)
            .values(new)
            .returning(attachments::id)
            .get_result(conn)?;
        Ok(Attachment {
            id,
            ticket_id: new.ticket_id,
            event_id: new.event_id,
            filename: new.filename.to_string(),
            content_type: new.content_type.to_string(),
            size: new.size,
            sha256: new.sha256.to_string(),
            public: new.public,
            added_by: new.added_by.to_string(),
            created_at: new.created_at,
        })
    }

    /// A ticket's files, oldest first; `public_only` for the reporter.
    pub fn for_ticket(
        conn: &mut DbConnection,
        ticket_id: i64,
        public_only: bool,
    ) -> QueryResult<Vec<Attachment>> {
        let mut query = attachments::table
            .filter(attachments::ticket_id.eq(ticket_id))
            .select(Attachment::as_select())
            .order(attachments::id.asc())
            .into_boxed();
        if public_only {
            query = query.filter(attachments::public.eq(true));
        }
        query.load(conn)
    }

    /// The files of several tickets (no bytes), by ticket, oldest first: one query for a
    /// page of the API's tickets.
    pub fn for_tickets(
        conn: &mut DbConnection,
        ticket_ids: &[i64],
    ) -> QueryResult<std::collections::HashMap<i64, Vec<Attachment>>> {
        let mut by_ticket: std::collections::HashMap<i64, Vec<Attachment>> =
            std::collections::HashMap::new();
        if ticket_ids.is_empty() {
            return Ok(by_ticket);
        }
        let rows: Vec<Attachment> = attachments::table
            .filter(attachments::ticket_id.eq_any(ticket_ids))
            .select(Attachment::as_select())
            .order(attachments::id.asc())
            .load(conn)?;
        for row in rows {
            by_ticket.entry(row.ticket_id).or_default().push(row);
        }
        Ok(by_ticket)
    }

    /// Show the files that came with timeline entry `event_id` to the reporter.
    pub fn publish_event(conn: &mut DbConnection, event_id: i64) -> QueryResult<usize> {
        diesel::update(attachments::table.filter(attachments::event_id.eq(event_id)))
            .set(attachments::public.eq(true))
            .execute(conn)
    }

    /// One file of a ticket, with its bytes.
    pub fn with_content(
        conn: &mut DbConnection,
        ticket_id: i64,
        id: i64,
    ) -> QueryResult<Option<(Attachment, Vec<u8>)>> {
        attachments::table
            .filter(attachments::ticket_id.eq(ticket_id))
            .filter(attachments::id.eq(id))
            .select((Attachment::as_select(), attachments::content))
            .first(conn)
            .optional()
    }
}
